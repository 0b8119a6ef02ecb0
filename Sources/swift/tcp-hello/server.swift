// tcp-hello server, line by line over Glibc: the twin of CSources/tcp-hello/server.c.
// Accept one client, read one message, answer it, exit.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let BUFFER_SIZE = 1024

var server_fd: Int32
var client_fd: Int32
var address = sockaddr_in()  // Swift zero-fills it; the C listing leaves it unset
var addrlen = socklen_t(MemoryLayout<sockaddr_in>.size)
var buffer = [CChar](repeating: 0, count: BUFFER_SIZE)
let response = "Hello from server"
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit

// Create the socket: IPv4, stream (TCP). On Glibc SOCK_STREAM is an enum.
server_fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if server_fd < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

// Let a restarted server bind the port again at once (TIME_WAIT)
var opt: Int32 = 1
setsockopt(server_fd, SOL_SOCKET, SO_REUSEADDR, &opt, socklen_t(MemoryLayout<Int32>.size))

// Any local interface, the port in network byte order (.bigEndian is htons)
address.sin_family = sa_family_t(AF_INET)
address.sin_addr.s_addr = in_addr_t(INADDR_ANY)
address.sin_port = UInt16(port).bigEndian

// bind takes a sockaddr *: view the sockaddr_in through that type, as the C cast does
let bound = withUnsafePointer(to: &address) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(server_fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
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
print("Server listening on port \(port)")

// Block until a client connects; its address lands in the same struct, and
// addrlen goes in as the room there and comes back as the size written
client_fd = withUnsafeMutablePointer(to: &address) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    accept(server_fd, $0, &addrlen)
  }
}
if client_fd < 0 {
  perror("accept failed")
  exit(EXIT_FAILURE)
}
print("Client connected")

// One recv: whatever has arrived, up to 1023 bytes, leaving room for '\0'
let bytes_read = recv(client_fd, &buffer, BUFFER_SIZE - 1, 0)
if bytes_read > 0 {
  buffer[bytes_read] = 0
  print("Received: \(String(cString: &buffer))")
}

send(client_fd, response, strlen(response), 0)
print("Response sent")

close(client_fd)
close(server_fd)
