// A program whose standard input the test keeps open and writes to as it goes, the
// way a person types into a chat client. Running feeds stdin once and closes it; here
// the program reads a FIFO that the test holds open instead: it is started as
// `sh -c 'exec "$0" < "$1"' program fifo`, so Running still spawns it, captures its
// output and stops it, and the shell is gone once the program runs.
import Foundation
import Synchronization

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

package final class Interactive: Sendable {
  package let running: Running
  private let folder: String
  /// Our end of the FIFO, -1 once closed. Opened read-write: opening it never waits
  /// for the other side, and the program reads end-of-file only when we close it.
  private let input: Mutex<Int32>

  package init(_ program: Program, environment: [String: String] = [:]) throws {
    folder = try Scratch.folder("kit-typing").path
    let fifo = folder + "/stdin"
    guard mkfifo(fifo, 0o600) == 0 else {
      let reason = String(cString: strerror(errno))
      rmdir(folder)
      throw HarnessError(description: "mkfifo \(fifo): \(reason)")
    }
    // O_CLOEXEC: no program that a parallel test starts may inherit a writer, or this
    // program would never read end-of-file. O_NONBLOCK: a full pipe (a program that
    // stopped reading) fails the write instead of hanging the test.
    let fd = open(fifo, O_RDWR | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else {
      let reason = String(cString: strerror(errno))
      unlink(fifo)
      rmdir(folder)
      throw HarnessError(description: "open \(fifo): \(reason)")
    }
    input = Mutex(fd)
    do {
      running = try Running(
        program, arguments: [fifo], environment: environment,
        wrapper: ["sh", "-c", "exec \"$0\" < \"$1\""])
    } catch {
      close(fd)
      unlink(fifo)
      rmdir(folder)
      throw error
    }
  }

  /// Writes `text` to the program's standard input, in one write unless the pipe is
  /// nearly full.
  package func type(_ text: String) throws {
    try input.withLock { fd in
      guard fd >= 0 else {
        throw HarnessError(description: "\(running.label): input already ended")
      }
      let bytes = Array(text.utf8)
      var offset = 0
      while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else {
          throw HarnessError(
            description: "\(running.label): writing its input: \(String(cString: strerror(errno)))")
        }
        offset += written
      }
    }
  }

  /// Closes standard input: the program reads end-of-file (Ctrl-D at a terminal).
  package func endInput() {
    input.withLock { fd in
      if fd >= 0 { close(fd) }
      fd = -1
    }
  }

  /// Ends the input, stops the program if it is still running, removes the FIFO.
  package func stop() async {
    endInput()
    if running.output.termination == nil { _ = try? await running.stop() }
    unlink(folder + "/stdin")
    rmdir(folder)
  }

  deinit {
    endInput()
    unlink(folder + "/stdin")
    rmdir(folder)
  }
}
