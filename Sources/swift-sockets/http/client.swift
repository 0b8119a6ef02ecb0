// http-client over the Sockets library: fetch one URL with HTTP/1.0 and copy the
// response, status line, headers and body, to standard output byte for byte. Works
// with the kit's http-server and with real web servers (http only, no https). Takes
// the arguments of CSources/http/client.c.
import ArgumentParser
@preconcurrency import Foundation  // FileHandle, strerror, gai_strerror
import KitOptions
import Sockets

@main
struct HttpClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "http-client",
    abstract: "Fetch one URL with HTTP/1.0 and copy the whole response to standard output.")

  @Argument(help: "http://HOST[:PORT]/PATH, or HOST PORT PATH; none: GET / from --host, --port")
  var arguments: [String] = []

  @OptionGroup var options: ClientOptions

  func run() throws {
    let (host, port, path) =
      switch arguments.count {
      case 0: (options.host(default: "localhost"), "\(options.port(default: 8080))", "/")
      case 1: try components(of: arguments[0])
      case 3: (arguments[0], arguments[1], arguments[2])
      default: throw Failure("usage: http-client [http://HOST[:PORT]/PATH | HOST PORT PATH]")
      }
    // Nothing that could end the request line or the Host line early
    guard !host.isEmpty else { throw Failure("no host in the URL") }
    // A name's letters, digits, "-", "." and "_", or an IPv6 address's ":"
    guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._:".contains($0)) })
    else { throw Failure("bad character in the host name") }
    guard port.count <= 5, port.allSatisfy({ $0.isASCII && $0.isNumber }),
      let number = UInt16(port), number > 0
    else { throw Failure("bad port") }
    guard path.hasPrefix("/") else { throw Failure("the path must start with '/'") }
    guard path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
      throw Failure("bad character in the path (spaces and the like must be %-encoded)")
    }

    // HTTP/1.0: the server sends the body as it is and closes after it, so everything
    // until the close is the response. Host names the site, for servers with several.
    let authority = (host.contains(":") ? "[\(host)]" : host) + (port == "80" ? "" : ":\(port)")
    let request =
      "GET \(path) HTTP/1.0\r\nHost: \(authority)\r\nUser-Agent: kit-http-client\r\n"
      + "Connection: close\r\n\r\n"
    let server = try connect(host: host, port: number)
    try server.sendAll(request, timeout: .seconds(30))
    var total = 0
    // Each piece as it arrives, until the server closes; a server silent for 30 s fails
    while case let bytes = try server.receive(upTo: 4096, timeout: .seconds(30)), !bytes.isEmpty {
      try FileHandle.standardOutput.write(contentsOf: bytes)
      total += bytes.count
    }
    guard total > 0 else {
      throw Failure("\(host): the server closed the connection without a response")
    }
  }
}

/// A failure in this program's words: swift-argument-parser prints it after "Error: "
/// and exits with status 1.
struct Failure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// getaddrinfo, then each address of the name in turn (localhost: ::1 and 127.0.0.1)
/// until one connects; its failures said as C's http-client says them.
func connect(host: String, port: UInt16) throws -> Socket {
  do {
    return try Socket.connect(host: host, port: port, timeout: .seconds(30))
  } catch .resolution(_, let code) {
    throw Failure("unknown host \(host): \(String(cString: gai_strerror(code)))")
  } catch .system("connect", let code) {
    throw Failure("cannot connect to \(host) port \(port): \(String(cString: strerror(code)))")
  } catch {
    throw error  // spelled out: Swift 6.3's compiler crashes on the implicit rethrow
  }
}

/// http://HOST[:PORT][/PATH][#FRAGMENT], HOST possibly [IPv6]: host, port and path.
func components(of url: String) throws -> (host: String, port: String, path: String) {
  if url.lowercased().hasPrefix("https://") {
    throw Failure("https is not supported, only http://")
  }
  guard url.lowercased().hasPrefix("http://") else {
    throw Failure("the URL must start with http://")
  }
  var rest = url.dropFirst(7)
  let host: Substring
  if rest.first == "[" {
    guard let end = rest.firstIndex(of: "]") else {
      throw Failure("no ']' after the IPv6 address")
    }
    host = rest[rest.index(after: rest.startIndex)..<end]
    rest = rest[rest.index(after: end)...]
  } else {
    host = rest.prefix { !":/?#".contains($0) }
    rest = rest.dropFirst(host.count)
  }
  var port: Substring = "80"
  if rest.first == ":" {
    port = rest.dropFirst().prefix { !"/?#".contains($0) }
    rest = rest.dropFirst(port.count + 1)
  } else if let next = rest.first, !"/?#".contains(next) {
    throw Failure("bad URL after the host")
  }
  // The fragment is for the browser, never sent; "http://host?q" asks for "/?q"
  let path = rest.prefix { $0 != "#" }
  return (String(host), String(port), path.hasPrefix("/") ? String(path) : "/" + path)
}
