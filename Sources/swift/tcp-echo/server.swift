// tcp-echo server, line by line over Glibc: the twin of CSources/tcp-echo/server.c.
// Accept a client, send back every byte it sends until it closes, then the next client.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let BUFFER_SIZE = 4096  // recv(4096)

// Python's sendall(): send may take only part of the data, so loop until it is all
// gone. MSG_NOSIGNAL (kit): a peer that has gone away makes send fail with EPIPE,
// as in Python, which ignores SIGPIPE, instead of raising SIGPIPE, which kills.
func send_all(_ fd: Int32, _ data: UnsafeRawPointer, _ length: Int) -> Int32 {
  var data = data
  var length = length
  while length > 0 {
    let sent = send(fd, data, length, Int32(MSG_NOSIGNAL))
    if sent < 0 {
      if errno == EINTR {
        continue
      }
      return -1
    }
    data += sent
    length -= sent
  }
  return 0
}

var conn: Int32
var address = sockaddr_in6()  // zero-filled: C's memset
var peer = sockaddr_in6()
var peer_len: socklen_t
var buffer = [UInt8](repeating: 0, count: BUFFER_SIZE)
var ip = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
var n: Int
var opt: Int32 = 1
var v6only: Int32 = 0  // IPV6_V6ONLY off: IPv4 clients too
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit

let server_fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
if server_fd < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}
// Restart at once, though connections this server closed sit in TIME_WAIT
if setsockopt(server_fd, SOL_SOCKET, SO_REUSEADDR, &opt, socklen_t(MemoryLayout<Int32>.size))
  < 0
{
  perror("setsockopt failed")
  exit(EXIT_FAILURE)
}
// Dual-stack: one socket for IPv6 and IPv4 clients, an IPv4 one showing as a mapped
// address (::ffff:127.0.0.1). Linux's default, not every system's: say it
if setsockopt(
  server_fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &v6only, socklen_t(MemoryLayout<Int32>.size)) < 0
{
  perror("setsockopt failed")
  exit(EXIT_FAILURE)
}

// ("::", 8080): every local interface, IPv6 and IPv4
address.sin6_family = sa_family_t(AF_INET6)
address.sin6_addr = in6addr_any
address.sin6_port = UInt16(port).bigEndian
let bound = withUnsafePointer(to: &address) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(server_fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
  }
}
if bound < 0 {
  perror("bind failed")
  exit(EXIT_FAILURE)
}
if listen(server_fd, 5) < 0 {
  perror("listen failed")
  exit(EXIT_FAILURE)
}
print("Listening on port \(port)")

while true {
  // accept() returns (conn, addr); here the address lands in peer
  peer_len = socklen_t(MemoryLayout<sockaddr_in6>.size)
  conn = withUnsafeMutablePointer(to: &peer) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(server_fd, $0, &peer_len) }
  }
  if conn < 0 {
    perror("accept failed")
    exit(EXIT_FAILURE)
  }
  // Python prints an IPv6 address as a 4-tuple, flow label and scope last:
  // ('::ffff:127.0.0.1', 54321, 0, 0)
  if inet_ntop(AF_INET6, &peer.sin6_addr, &ip, socklen_t(INET6_ADDRSTRLEN)) == nil {
    perror("inet_ntop failed")
    exit(EXIT_FAILURE)
  }
  print(
    "Connected: ('\(String(cString: &ip))', \(UInt16(bigEndian: peer.sin6_port)), "
      + "\(UInt32(bigEndian: peer.sin6_flowinfo)), \(peer.sin6_scope_id))")

  // Whatever arrives goes back; recv returns 0 (Python: b'') once the client
  // has closed. One client at a time: the next waits in the backlog.
  while true {
    n = recv(conn, &buffer, BUFFER_SIZE, 0)
    if n == 0 {
      break
    }
    if n < 0 {  // kit: Python would stop with a traceback; Swift serves on
      perror("recv failed")
      break
    }
    if send_all(conn, buffer, n) < 0 {  // kit: as for recv
      perror("send failed")
      break
    }
  }
  close(conn)
}
