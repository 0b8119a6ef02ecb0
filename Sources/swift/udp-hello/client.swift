// udp-hello client, line by line over Glibc: the twin of CSources/udp-hello/client.c.
// Send one datagram, print the answer.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let BUFFER_SIZE = 1024

var sock_fd: Int32
var server_addr = sockaddr_in()
var server_len = socklen_t(MemoryLayout<sockaddr_in>.size)
var buffer = [CChar](repeating: 0, count: BUFFER_SIZE)  // zeros: the C leaves it unset
let message = "Hello from UDP client"
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit
let host = getenv("KIT_HOST") != nil ? String(cString: getenv("KIT_HOST")) : "127.0.0.1"  // kit

sock_fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
if sock_fd < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

memset(&server_addr, 0, MemoryLayout<sockaddr_in>.size)
server_addr.sin_family = sa_family_t(AF_INET)
server_addr.sin_port = UInt16(port).bigEndian
// Return not checked: a bad address leaves sin_addr at 0 (0.0.0.0)
inet_pton(AF_INET, host, &server_addr.sin_addr)

// No connect: every datagram names its destination. The C ignores sendto's result.
_ = withUnsafePointer(to: &server_addr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    sendto(sock_fd, message, strlen(message), 0, $0, server_len)
  }
}
print("Message sent")

// Blocks until a datagram comes back; no timeout, so a lost one means forever.
// The reply's source address overwrites server_addr, its size server_len.
let bytes_read = withUnsafeMutablePointer(to: &server_addr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    recvfrom(sock_fd, &buffer, BUFFER_SIZE - 1, 0, $0, &server_len)
  }
}
if bytes_read > 0 {
  buffer[bytes_read] = 0
  print("Received: \(String(cString: &buffer))")
}

close(sock_fd)
