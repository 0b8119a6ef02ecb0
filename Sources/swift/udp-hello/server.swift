// udp-hello server, line by line over Glibc: the twin of CSources/udp-hello/server.c.
// Answer every datagram that arrives, forever.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let BUFFER_SIZE = 1024

var sock_fd: Int32
var server_addr = sockaddr_in()
var client_addr = sockaddr_in()  // Swift zero-fills it; the C listing leaves it unset
var client_len = socklen_t(MemoryLayout<sockaddr_in>.size)
var buffer = [CChar](repeating: 0, count: BUFFER_SIZE)  // zeros: the C leaves it unset
let response = "Message received"
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit

// Create the socket: IPv4, datagram (UDP). On Glibc SOCK_DGRAM is an enum.
sock_fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
if sock_fd < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

// Zero the whole struct first (sin_zero included), then fill it in
memset(&server_addr, 0, MemoryLayout<sockaddr_in>.size)
server_addr.sin_family = sa_family_t(AF_INET)
server_addr.sin_addr.s_addr = in_addr_t(INADDR_ANY)
server_addr.sin_port = UInt16(port).bigEndian

// bind is all a UDP server needs: no listen, no accept
let bound = withUnsafePointer(to: &server_addr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(sock_fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if bound < 0 {
  perror("bind failed")
  exit(EXIT_FAILURE)
}
print("UDP server listening on port \(port)")

while true {
  // One datagram, up to 1023 bytes; the sender's address fills client_addr and
  // recvfrom writes its length back through &client_len
  let bytes_read = withUnsafeMutablePointer(to: &client_addr) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      recvfrom(sock_fd, &buffer, BUFFER_SIZE - 1, 0, $0, &client_len)
    }
  }
  if bytes_read > 0 {
    buffer[bytes_read] = 0
    print("Received: \(String(cString: &buffer))")
    // Reply to whoever sent it: the address recvfrom just filled in
    _ = withUnsafePointer(to: &client_addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        sendto(sock_fd, response, strlen(response), 0, $0, client_len)
      }
    }
  }
}

// Never reached: the loop above has no way out
close(sock_fd)
