// chat client, line by line over Glibc: the twin of CSources/chat/client.c. One
// thread, one poll() over two descriptors: what you type goes to the server, what the
// server relays from the others is printed. At the end of input (Ctrl-D) it stops
// sending but keeps printing until the server closes the connection.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let CHUNK = 4096

// write() may take fewer bytes than asked (a short write): loop until all are out.
// MSG_NOSIGNAL: a server that has gone makes send fail with EPIPE, not kill us.
func send_all(_ fd: Int32, _ data: UnsafeRawPointer, _ n: Int) -> Int32 {
  var data = data
  var n = n
  while n > 0 {
    let sent = send(fd, data, n, Int32(MSG_NOSIGNAL))
    if sent < 0 {
      if errno == EINTR {
        continue
      }
      return -1
    }
    data += sent
    n -= sent
  }
  return 0
}

func write_all(_ fd: Int32, _ data: UnsafeRawPointer, _ n: Int) -> Int32 {
  var data = data
  var n = n
  while n > 0 {
    let written = write(fd, data, n)
    if written < 0 {
      if errno == EINTR {
        continue
      }
      return -1
    }
    data += written
    n -= written
  }
  return 0
}

var addr = sockaddr_in()
var fds = [pollfd](repeating: pollfd(), count: 2)
var buffer = [UInt8](repeating: 0, count: CHUNK)
var got: Int
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit
let host = getenv("KIT_HOST") != nil ? String(cString: getenv("KIT_HOST")) : "127.0.0.1"  // kit

let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if sock < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}
memset(&addr, 0, MemoryLayout<sockaddr_in>.size)
addr.sin_family = sa_family_t(AF_INET)
addr.sin_port = UInt16(port).bigEndian
// 1 on success; 0 (errno untouched) when the text is not an IPv4 address
if inet_pton(AF_INET, host, &addr.sin_addr) != 1 {
  fputs("invalid address: \(host)\n", stderr)
  exit(EXIT_FAILURE)
}
let connected = withUnsafePointer(to: &addr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    connect(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if connected < 0 {
  perror("connect failed")
  exit(EXIT_FAILURE)
}
// On stderr, so that stdout holds only what the others said
fputs("Connected to \(host):\(port); end your input (Ctrl-D) to leave\n", stderr)

fds[0].fd = STDIN_FILENO
fds[0].events = Int16(POLLIN)
fds[1].fd = sock
fds[1].events = Int16(POLLIN)
while true {
  if poll(&fds, 2, -1) < 0 {
    if errno == EINTR {
      continue
    }
    perror("poll failed")
    exit(EXIT_FAILURE)
  }

  // Standard input: what has been typed (a terminal hands over a line at a time)
  if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR | POLLNVAL) != 0 {
    got = read(STDIN_FILENO, &buffer, CHUNK)
    if got < 0 && errno != EINTR {
      perror("read failed")
      exit(EXIT_FAILURE)
    }
    if got == 0 {
      // End of input: send our FIN, so the server sees us leave, but keep
      // reading what it still has for us. A negative fd: poll skips it.
      if shutdown(sock, Int32(SHUT_WR)) < 0 {
        perror("shutdown failed")
        exit(EXIT_FAILURE)
      }
      fds[0].fd = -1
    }
    if got > 0 && send_all(sock, buffer, got) < 0 {
      perror("send failed")
      exit(EXIT_FAILURE)
    }
  }

  // The socket: what the others said, or 0 when the server closes
  if fds[1].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
    got = recv(sock, &buffer, CHUNK, 0)
    if got < 0 && errno != EINTR {
      perror("recv failed")
      exit(EXIT_FAILURE)
    }
    if got == 0 {
      break
    }
    // Unbuffered: the bytes go out now, whole lines or not
    if got > 0 && write_all(STDOUT_FILENO, buffer, got) < 0 {
      perror("write failed")
      exit(EXIT_FAILURE)
    }
  }
}

if close(sock) < 0 {
  perror("close failed")
  exit(EXIT_FAILURE)
}
