// Addresses: resolving names and numbers, printing, comparing, Unix-domain paths.
import Sockets
import Testing

@Suite(.timeLimit(.minutes(1)))
struct AddressTests {
  @Test func numericIPv4() throws {
    let addresses = try SocketAddress.resolve(host: "127.0.0.1", port: 8080)
    #expect(addresses.count == 1)
    let address = try #require(addresses.first)
    #expect(address.family == .ipv4)
    #expect(address.host == "127.0.0.1")
    #expect(address.port == 8080)
    #expect(address.path == nil)
    #expect(address.description == "127.0.0.1:8080")
  }

  @Test func numericIPv6() throws {
    let address = try SocketAddress(host: "::1", port: 8080)
    #expect(address.family == .ipv6)
    #expect(address.host == "::1")
    #expect(address.port == 8080)
    #expect(address.description == "[::1]:8080")
  }

  @Test func hostName() throws {
    let addresses = try SocketAddress.resolve(host: "localhost", port: 80)
    #expect(addresses.contains { $0.description == "127.0.0.1:80" || $0.description == "[::1]:80" })
    #expect(Set(addresses).count == addresses.count)  // each address once
  }

  @Test func oneFamilyOnly() throws {
    let addresses = try SocketAddress.resolve(host: "localhost", port: 80, family: .ipv4)
    #expect(addresses.map(\.description) == ["127.0.0.1:80"])
    // An IPv6 address has no IPv4 form: getaddrinfo says so, as it does in C.
    #expect(throws: SocketError.self) {
      try SocketAddress.resolve(host: "::1", port: 80, family: .ipv4)
    }
  }

  @Test func everyInterface() throws {
    let addresses = try SocketAddress.resolve(host: nil, port: 9000)
    #expect(addresses.contains { $0.host == "0.0.0.0" || $0.host == "::" })
  }

  @Test func equalAddressesHashAlike() throws {
    let one = try SocketAddress(host: "127.0.0.1", port: 1)
    #expect(one == (try SocketAddress(host: "127.0.0.1", port: 1)))
    #expect(one != (try SocketAddress(host: "127.0.0.1", port: 2)))
    #expect(one != (try SocketAddress(host: "::1", port: 1)))
    let set: Set = [one, try SocketAddress(host: "127.0.0.1", port: 1)]
    #expect(set.count == 1)
  }

  @Test func unixDomain() throws {
    let address = try SocketAddress(unixPath: "/tmp/kit.sock")
    #expect(address.family == .unix)
    #expect(address.path == "/tmp/kit.sock")
    #expect(address.host == nil)
    #expect(address.port == nil)
    #expect(address.description == "/tmp/kit.sock")
    #expect(address == (try SocketAddress(unixPath: "/tmp/kit.sock")))
  }

  @Test func unixDomainPathLimits() throws {
    // sun_path is 108 bytes on Linux, and the path needs a closing NUL.
    let longest = "/" + String(repeating: "x", count: 106)
    #expect(try SocketAddress(unixPath: longest).path == longest)
    #expect(throws: SocketError.system(call: "sockaddr_un", errno: Code.nameTooLong)) {
      try SocketAddress(unixPath: longest + "x")
    }
    #expect(throws: SocketError.system(call: "sockaddr_un", errno: Code.invalidArgument)) {
      try SocketAddress(unixPath: "")
    }
  }
}
