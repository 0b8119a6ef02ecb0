// The command line that every swift-sockets program shares. An option beats the
// environment (KIT_HOST, KIT_PORT: the kit's override for every flavor), which beats
// the lecture's default, so `KIT_PORT=9000` moves a C, a Swift and a swift-sockets
// program alike, and `--port 9000` is there for people who prefer flags.
import ArgumentParser

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// `--port` for a server.
public struct ServerOptions: ParsableArguments {
  @Option(help: "The port to listen on. Default: $KIT_PORT, else the lecture's port.")
  public var port: UInt16?

  public init() {}

  public func validate() throws { _ = try environmentPort() }

  /// The port to use: `--port`, else KIT_PORT, else the lecture's.
  public func port(default lecturePort: UInt16) -> UInt16 {
    port ?? (try? environmentPort()) ?? lecturePort
  }
}

/// `--host` and `--port` for a client.
public struct ClientOptions: ParsableArguments {
  @Option(help: "The server's host name or address. Default: $KIT_HOST, else the lecture's.")
  public var host: String?

  @Option(help: "The server's port. Default: $KIT_PORT, else the lecture's port.")
  public var port: UInt16?

  public init() {}

  public func validate() throws { _ = try environmentPort() }

  /// The host to use: `--host`, else KIT_HOST, else the lecture's.
  public func host(default lectureHost: String) -> String {
    host ?? environment("KIT_HOST") ?? lectureHost
  }

  /// The port to use: `--port`, else KIT_PORT, else the lecture's.
  public func port(default lecturePort: UInt16) -> UInt16 {
    port ?? (try? environmentPort()) ?? lecturePort
  }
}

private func environment(_ name: String) -> String? {
  getenv(name).map { String(cString: $0) }
}

/// KIT_PORT as a port number; nil when unset, an error when it is not a port.
private func environmentPort() throws -> UInt16? {
  guard let text = environment("KIT_PORT") else { return nil }
  guard let port = UInt16(text) else {
    throw ValidationError("KIT_PORT must be a port number from 0 to 65535, not '\(text)'")
  }
  return port
}
