// tcp-hello client, line by line over Glibc: the twin of CSources/tcp-hello/client.c.
// Connect, send one message, print the answer.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let BUFFER_SIZE = 1024

var sock_fd: Int32
var server_addr = sockaddr_in()  // Swift zero-fills it; the C listing leaves it unset
var buffer = [CChar](repeating: 0, count: BUFFER_SIZE)
let message = "Hello from client"
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit
let host = getenv("KIT_HOST") != nil ? String(cString: getenv("KIT_HOST")) : "127.0.0.1"  // kit

sock_fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if sock_fd < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

server_addr.sin_family = sa_family_t(AF_INET)
server_addr.sin_port = UInt16(port).bigEndian

// Text "127.0.0.1" to the 4-byte binary address; 0 means not an IPv4 address
if inet_pton(AF_INET, host, &server_addr.sin_addr) <= 0 {
  perror("invalid address")
  exit(EXIT_FAILURE)
}

let connected = withUnsafePointer(to: &server_addr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    connect(sock_fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if connected < 0 {
  perror("connect failed")
  exit(EXIT_FAILURE)
}
print("Connected to server")

// strlen bytes: no newline and no '\0' travel
send(sock_fd, message, strlen(message), 0)
print("Message sent")

let bytes_read = recv(sock_fd, &buffer, BUFFER_SIZE - 1, 0)
if bytes_read > 0 {
  buffer[bytes_read] = 0
  print("Received: \(String(cString: &buffer))")
}

close(sock_fd)
