// Lab 02, udp-retry client in Swift over Glibc: send each line of stdin as one
// datagram "SEQ LINE" and print the server's answer, sending again what goes
// unanswered. UDP may lose a datagram, deliver it late or deliver it twice, and never
// says which: a timeout, a retry and a sequence number are how a client copes.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("This lab calls Glibc, as the kit's swift flavor does.")
#endif

let PORT: Int32 = 9876
let BUFFER_SIZE = 1024
let TRY_MS = 500

/// Milliseconds on a clock that only moves forward (the wall clock can be set back).
func nowMs() -> Int {
  var now = timespec()
  clock_gettime(CLOCK_MONOTONIC, &now)
  return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
}

/// Waits until `deadline` for the datagram that starts with `prefix` ("SEQ ") and
/// returns the text after it, or nil when time is up. Whatever else arrives meanwhile
/// (a late answer to an earlier line, a duplicate) is read and dropped, and the
/// deadline stays where it was: an ignored datagram does not make a try longer.
func awaitAnswer(_ sock: Int32, _ prefix: [UInt8], until deadline: Int) -> String? {
  var ready = pollfd(fd: sock, events: Int16(POLLIN), revents: 0)
  var buffer = [UInt8](repeating: 0, count: BUFFER_SIZE + 16)
  while true {
    let left = deadline - nowMs()
    if left <= 0 { return nil }
    let n = poll(&ready, 1, Int32(left))
    if n < 0 {
      perror("poll failed")
      exit(EXIT_FAILURE)
    }
    if n == 0 { return nil }
    // Any sender will do: the sequence number says whether this is the answer
    let got = recvfrom(sock, &buffer, buffer.count, 0, nil, nil)
    if got < 0 {
      perror("recvfrom failed")
      exit(EXIT_FAILURE)
    }
    if buffer[..<got].starts(with: prefix) {
      return String(decoding: buffer[prefix.count..<got], as: UTF8.self)
    }
  }
}

setvbuf(stdout, nil, _IOLBF, 0)  // each line reaches a pipe at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT
let host = getenv("KIT_HOST").map { String(cString: $0) } ?? "127.0.0.1"

let sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
if sock < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}
var server = sockaddr_in()  // zero-filled, as C's memset leaves it
server.sin_family = sa_family_t(AF_INET)
server.sin_port = UInt16(port).bigEndian
if inet_pton(AF_INET, host, &server.sin_addr) <= 0 {
  fputs("invalid address: \(host)\n", stderr)
  exit(EXIT_FAILURE)
}

var seq = 0
while let line = readLine() {  // without its newline: the newline ends a line, it does not travel
  seq += 1
  let request = Array("\(seq) \(line)".utf8)
  var answer: String? = nil
  // wrong: no limit on the tries. With no server, or none that answers, the client
  // sends for ever and never says so.
  while answer == nil {
    // The same bytes every time: a retry is the request again, not a new one
    let sent = withUnsafePointer(to: &server) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        sendto(sock, request, request.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    if sent < 0 {
      perror("sendto failed")
      exit(EXIT_FAILURE)
    }
    answer = awaitAnswer(sock, Array("\(seq) ".utf8), until: nowMs() + TRY_MS)
  }
  print("FROM SERVER: \(answer!)")
}

close(sock)
