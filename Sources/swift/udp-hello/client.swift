// udp-hello client, line by line over Glibc: the twin of CSources/udp-hello/client.c.
// Send one datagram, print the answer.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let BUFFER_SIZE = 1024

var serv_addr: sockaddr_in
var addr_len = socklen_t(MemoryLayout<sockaddr_in>.size)
var buffer = [CChar](repeating: 0, count: BUFFER_SIZE)
let message = "Hello from UDP client"
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit
let host = getenv("KIT_HOST") != nil ? String(cString: getenv("KIT_HOST")) : "127.0.0.1"  // kit

let sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
if sock < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

serv_addr = sockaddr_in()  // all zeros: the C memset
serv_addr.sin_family = sa_family_t(AF_INET)
serv_addr.sin_port = UInt16(port).bigEndian
// Return not checked: a bad address leaves sin_addr at 0 (0.0.0.0)
inet_pton(AF_INET, host, &serv_addr.sin_addr)

// No connect: every datagram names its destination. The C ignores sendto's result.
_ = withUnsafePointer(to: &serv_addr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    sendto(sock, message, strlen(message), 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
print("Message sent")

// Blocks until a datagram comes back; no timeout, so a lost one means forever.
// The reply's source address overwrites serv_addr; addr_len goes in and comes back.
let bytes_read = withUnsafeMutablePointer(to: &serv_addr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    recvfrom(sock, &buffer, BUFFER_SIZE - 1, 0, $0, &addr_len)
  }
}
if bytes_read > 0 {
  buffer[bytes_read] = 0
  print("Received: \(String(cString: &buffer))")
}

close(sock)
