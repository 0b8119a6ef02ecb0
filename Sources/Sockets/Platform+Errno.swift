// How a failed C call reports itself to the rest of the library: its errno, as a
// Swift value, taken before any other call can overwrite it.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#else
  #error("Sockets needs Glibc, Musl or Darwin.")
#endif

/// The errno of a failed call, read at once, before anything else can overwrite it.
struct Errno: Error, Equatable {
  let code: Int32

  static var current: Errno { Errno(code: errno) }
  static let interrupted = Errno(code: EINTR)
  static let inProgress = Errno(code: EINPROGRESS)
  static let badDescriptor = Errno(code: EBADF)
  static let alreadyRegistered = Errno(code: EEXIST)
  static let notRegistered = Errno(code: ENOENT)
  /// A client that reset its connection while it waited in the listen queue.
  static let connectionAborted = Errno(code: ECONNABORTED)

  /// EAGAIN or EWOULDBLOCK: equal on Linux and Darwin, but POSIX lets them differ.
  var wouldBlock: Bool { code == EAGAIN || code == EWOULDBLOCK }
}

/// A C call's result as a Swift value: -1 means failure, with the reason in errno.
func checked<T: BinaryInteger>(_ result: T) -> Result<T, Errno> {
  result == -1 ? .failure(.current) : .success(result)
}
