// rendezvous server, line by line over Glibc: the twin of CSources/rendezvous/server.c.
// Introduces two peers who want to talk directly: each says REGISTER <name> <peer>
// <ip>:<port>; once both of a pair have named each other, each hears the other's
// address (PEER <name> <ip>:<port>); RELAY <ip>:<port> passes a TURN relay's address on.
// One thread and poll serve every connection; the protocol is in lectures/rendezvous.md.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 3479
let MAX_CLIENTS = 1024
let LINE_MAX_BYTES = 255  // a line, "\n" included
let NAME_MAX_CHARS = 32

struct Client {
  var fd: Int32 = -1  // -1: a free slot
  var from = ""  // its TCP address, to name it in errors
  var line: [UInt8] = []  // what it sent of its current line
  var name = ""  // empty until it registers
  var peer = ""
  var candidate = ""
  var partner = -1  // index of its pair's other peer, or -1
  var paired = false  // it has had its PEER line
}

nonisolated(unsafe) var clients = [Client](repeating: Client(), count: MAX_CLIENTS)

// 1 to 32 characters from [A-Za-z0-9_-]
func valid_name(_ name: String) -> Bool {
  let bytes = Array(name.utf8)
  if bytes.count < 1 || bytes.count > NAME_MAX_CHARS {
    return false
  }
  return bytes.allSatisfy {
    isalnum(Int32($0)) != 0 || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
  }
}

// A dotted IPv4 address, a colon, and a port from 1 to 65535 in plain digits
func valid_address(_ text: String) -> Bool {
  guard let colon = text.lastIndex(of: ":") else {
    return false
  }
  var parsed = in_addr()
  let port = Array(text[text.index(after: colon)...].utf8)
  let digits = port.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
  if inet_pton(AF_INET, String(text[..<colon]), &parsed) != 1 || digits < 1 || digits > 5
    || digits != port.count || port[0] == UInt8(ascii: "0")
    || Int(String(decoding: port, as: UTF8.self))! > 65535
  {
    return false
  }
  return true
}

// One line to a client; the lines are short, so a send that does not take it all
// means a peer that stopped reading: it is dropped by the caller.
func send_line(_ index: Int, _ line: String) -> Bool {
  let bytes = Array(line.utf8)
  return send(clients[index].fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count
}

func drop(_ index: Int) {
  if !clients[index].name.isEmpty {
    print("\(clients[index].name) left")
  }
  if clients[index].partner >= 0 {
    clients[clients[index].partner].partner = -1
  }
  if close(clients[index].fd) < 0 {
    perror("close failed")
  }
  clients[index] = Client()
}

// An ERROR line, then the connection is closed: the server goes on with the rest.
func refuse(_ index: Int, _ reason: String) {
  print("error from \(clients[index].from): \(reason)")
  _ = send_line(index, "ERROR \(reason)\n")
  drop(index)
}

func on_register(_ index: Int, _ name: String, _ peer: String, _ candidate: String) {
  if !clients[index].name.isEmpty {
    refuse(index, "already registered")
    return
  }
  if !valid_name(name) || !valid_name(peer) {
    refuse(index, "bad name")
    return
  }
  if !valid_address(candidate) {
    refuse(index, "bad address")
    return
  }
  for i in 0..<MAX_CLIENTS {
    if clients[i].fd >= 0 && clients[i].name == name {
      refuse(index, "name already registered")
      return
    }
  }
  clients[index].name = name
  clients[index].peer = peer
  clients[index].candidate = candidate
  // Its peer, waiting for it by name?
  var other = -1
  for i in 0..<MAX_CLIENTS
  where i != index && clients[i].fd >= 0 && !clients[i].paired && clients[i].name == peer
    && clients[i].peer == name
  {
    other = i
  }
  if other < 0 {
    print("\(name) registered (waiting for \(peer))")
    return
  }
  clients[index].partner = other
  clients[other].partner = index
  clients[index].paired = true
  clients[other].paired = true
  print("paired \(clients[other].name) and \(name)")
  if !send_line(other, "PEER \(name) \(candidate)\n") {
    drop(other)
  }
  if !send_line(index, "PEER \(clients[other].name) \(clients[other].candidate)\n") {
    drop(index)
  }
}

func on_relay(_ index: Int, _ relay: String) {
  if !clients[index].paired {
    refuse(index, "RELAY before PEER")
    return
  }
  if !valid_address(relay) {
    refuse(index, "bad address")
    return
  }
  if clients[index].partner < 0 {
    refuse(index, "the peer has left")
    return
  }
  print("relay from \(clients[index].name)")
  let partner = clients[index].partner
  if !send_line(partner, "RELAY \(clients[index].name) \(relay)\n") {
    drop(partner)
  }
}

// One complete line, without its "\n"
func on_line(_ index: Int, _ line: String) {
  let words = line.split(separator: " ").prefix(5).map(String.init)
  if words.count == 4 && words[0] == "REGISTER" {
    on_register(index, words[1], words[2], words[3])
  } else if words.count == 2 && words[0] == "RELAY" {
    on_relay(index, words[1])
  } else {
    refuse(index, "unknown command")
  }
}

// Readable: take what came, and act on each complete line in it.
func on_readable(_ index: Int) {
  var data = [UInt8](repeating: 0, count: 512)
  let n = recv(clients[index].fd, &data, data.count, 0)
  if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    return
  }
  if n <= 0 {  // closed or reset: it is forgotten, its name free again
    drop(index)
    return
  }
  for byte in data[..<n] {
    if byte == UInt8(ascii: "\n") {
      let line = String(decoding: clients[index].line, as: UTF8.self)
      clients[index].line = []
      let fd = clients[index].fd
      on_line(index, line)
      if clients[index].fd != fd {  // refused: the rest of what it sent is moot
        return
      }
    } else if clients[index].line.count == LINE_MAX_BYTES - 1 || byte == 0 {
      refuse(index, byte == 0 ? "NUL in a line" : "line too long")
      return
    } else {
      clients[index].line.append(byte)
    }
  }
}

func accept_client(_ listener: Int32) {
  var peer = sockaddr_in()
  var peer_len = socklen_t(MemoryLayout<sockaddr_in>.size)
  let fd = withUnsafeMutablePointer(to: &peer) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &peer_len) }
  }
  if fd < 0 {
    if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED {
      perror("accept failed")
    }
    return
  }
  var index = 0
  while index < MAX_CLIENTS && clients[index].fd >= 0 {
    index += 1
  }
  if index == MAX_CLIENTS || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 {
    fputs("refused a client: no room\n", stderr)
    close(fd)
    return
  }
  var ip = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
  inet_ntop(AF_INET, &peer.sin_addr, &ip, socklen_t(ip.count))
  let text = String(decoding: ip.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  clients[index].from = "\(text):\(UInt16(bigEndian: peer.sin_port))"
  clients[index].fd = fd
}

var address = sockaddr_in()
var fds = [pollfd](repeating: pollfd(), count: MAX_CLIENTS + 1)
var where_ = [Int](repeating: 0, count: MAX_CLIENTS + 1)  // fds[i] watches clients[where_[i]]
var opt: Int32 = 1
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
var port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit

if CommandLine.argc > 2 {
  fputs("usage: rendezvous-server [PORT]\n", stderr)
  exit(64)
}
if CommandLine.argc == 2 {
  var end: UnsafeMutablePointer<CChar>?
  let text = CommandLine.unsafeArgv[1]!
  let number = strtol(text, &end, 10)
  if isdigit(Int32(UInt8(bitPattern: text[0]))) == 0 || end!.pointee != 0 || number < 1
    || number > 65535
  {
    fputs(
      "rendezvous-server: port must be a number from 1 to 65535, not '\(String(cString: text))'\n",
      stderr)
    exit(64)
  }
  port = Int32(number)
}

let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if listener < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}
if setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &opt, socklen_t(MemoryLayout<Int32>.size)) < 0 {
  perror("setsockopt failed")
  exit(EXIT_FAILURE)
}
address.sin_family = sa_family_t(AF_INET)
address.sin_addr.s_addr = INADDR_ANY.bigEndian
address.sin_port = UInt16(port).bigEndian
let bound = withUnsafePointer(to: &address) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if bound < 0 {
  perror("bind failed")
  exit(EXIT_FAILURE)
}
if listen(listener, SOMAXCONN) < 0 {
  perror("listen failed")
  exit(EXIT_FAILURE)
}
print("listening on port \(port)")

while true {
  // Who to watch: the listener, then every open connection
  var count = 1
  fds[0] = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
  for i in 0..<MAX_CLIENTS where clients[i].fd >= 0 {
    fds[count] = pollfd(fd: clients[i].fd, events: Int16(POLLIN), revents: 0)
    where_[count] = i
    count += 1
  }
  if poll(&fds, nfds_t(count), -1) < 0 {
    if errno == EINTR {
      continue
    }
    perror("poll failed")
    exit(EXIT_FAILURE)
  }
  for i in 1..<count {
    // still the same connection: an earlier one's line may have dropped it
    if fds[i].revents != 0 && clients[where_[i]].fd == fds[i].fd {
      on_readable(where_[i])
    }
  }
  if fds[0].revents & Int16(POLLIN) != 0 {
    accept_client(listener)
  }
}
