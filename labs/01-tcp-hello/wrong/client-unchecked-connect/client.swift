// tcp-hello client, line by line over Glibc: the twin of CSources/tcp-hello/client.c.
// Connect, send one message, print the answer.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let BUFFER_SIZE = 1024

var serv_addr = sockaddr_in()
var buffer = [CChar](repeating: 0, count: BUFFER_SIZE)
let message = "Hello from client"
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit
let host = getenv("KIT_HOST") != nil ? String(cString: getenv("KIT_HOST")) : "127.0.0.1"  // kit

let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if sock < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

serv_addr.sin_family = sa_family_t(AF_INET)
serv_addr.sin_port = UInt16(port).bigEndian

// Text "127.0.0.1" to the 4-byte binary address; 0 means not an IPv4 address
if inet_pton(AF_INET, host, &serv_addr.sin_addr) <= 0 {
  perror("invalid address")
  exit(EXIT_FAILURE)
}

// wrong: connect's result is dropped, so a refused connection goes unnoticed and
// the client carries on as if it were connected.
_ = withUnsafePointer(to: &serv_addr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    connect(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
print("Connected to server")

// strlen bytes: no newline and no '\0' travel
send(sock, message, strlen(message), 0)
print("Message sent")

let bytes_read = recv(sock, &buffer, BUFFER_SIZE - 1, 0)
if bytes_read > 0 {
  buffer[bytes_read] = 0
  print("Received: \(String(cString: &buffer))")
}

close(sock)
