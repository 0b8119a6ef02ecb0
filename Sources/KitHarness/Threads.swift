// Blocking work in async tests. Swift Testing runs tests in parallel on the
// cooperative pool, which has one thread per core: two on the machines the kit is
// tested on. A test that blocks one in poll() or recv() stalls every other test, so
// blocking peer code runs here, on a thread of its own.
import Foundation

/// Runs `work` on a new thread and waits, without holding a pool thread, for its result.
package func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
  }
}
