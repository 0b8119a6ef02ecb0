// Ports for tests: each test gets its own free port, so tests run in parallel, and
// the lecture's ports are held by the harness, so a program that ignores KIT_PORT
// fails loudly instead of passing by luck on a machine where the port happens to be free.
import Foundation
import Synchronization

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

package enum Transport: String, Sendable { case tcp, udp }

package enum Ports {
  /// Held (TCP listening and UDP bound) for the whole run, where they are free.
  package static let lecturePorts: [UInt16] = [8080, 6789, 9876]
  private static let held: [Int32] = lecturePorts.flatMap { port in
    [bindSocket(port, .tcp, listening: true), bindSocket(port, .udp)].compactMap { $0 }
  }

  /// Holds the lecture's ports now (reserve() does too, the first time): a test that
  /// starts graders holds them first, so no grader's program can take them between
  /// one grader's exit and the next one's start.
  package static func holdLecturePorts() { _ = held }

  /// Ports come from blocks of `blockSize` in 20000-31999, below Linux's ephemeral
  /// range (32768-60999) so no client socket takes one meanwhile. A process claims a
  /// block with an flock on a file in /tmp, held until it exits, so the test run and
  /// the graders it starts (and two test runs on one machine) never hand out the same
  /// port: each checks a port is free, but only its own block is its to give.
  private static let blockSize: UInt16 = 100
  private static let blocks = (20000 / Int(blockSize))..<(32000 / Int(blockSize))
  private static let next = Mutex<(port: UInt16, end: UInt16)>((0, 0))

  /// A port free for both TCP and UDP right now, never handed out twice on this
  /// machine while its process runs.
  package static func reserve() -> UInt16 {
    _ = held
    while true {
      let port = next.withLock { next in
        if next.port >= next.end {
          let block = claimBlock()
          next = (block, block + blockSize)
        }
        defer { next.port += 1 }
        return next.port
      }
      // Its byte-swapped twin must be free too, and below the ephemeral range: a server
      // that forgets htons binds that one, and the grader tells the mistake apart from
      // a taken port only if nothing else holds it. Looked up, never bound: the twin may
      // be a port handed out a moment ago, whose server a bind here, however brief,
      // would make fail with EADDRINUSE (the likeliest cause of a soak failure). A port
      // whose two bytes are the same (22102 is 0x5656) is its own twin: no use there.
      let swapped = port.byteSwapped
      guard swapped != port, (1024..<32768).contains(swapped), !isOpen(swapped) else {
        continue
      }
      if isFree(port) { return port }
    }
  }

  /// Whether `port` is free for both TCP and UDP now.
  package static func isFree(_ port: UInt16) -> Bool { areFree(port...port) }

  /// Each port is bound and closed at once, under the lock every spawn takes: a program
  /// that a parallel test starts holds a copy of our descriptors from its fork to its
  /// exec, and a check socket copied into it would keep the port bound after our close,
  /// so the server given the port could not bind it.
  private static func areFree(_ ports: ClosedRange<UInt16>) -> Bool {
    Running.spawnLock.withLock { _ in
      let sockets = ports.flatMap { [bindSocket($0, .tcp), bindSocket($0, .udp)] }
      for fd in sockets.compactMap({ $0 }) { close(fd) }
      return !sockets.contains(nil)
    }
  }

  /// `count` consecutive ports, each free for TCP and UDP now, from this process's own
  /// block: for a program given a range of ports (coturn's relays), where a range made
  /// of separate reservations could take in ports that other tests hold meanwhile.
  package static func reserve(consecutive count: Int) -> ClosedRange<UInt16> {
    precondition((1...Int(blockSize)).contains(count), "1 to \(blockSize) ports at once")
    _ = held
    while true {
      let first = next.withLock { next in
        if Int(next.end) - Int(next.port) < count {
          let block = claimBlock()
          next = (block, block + blockSize)
        }
        defer { next.port += UInt16(count) }
        return next.port
      }
      let range = first...(first + UInt16(count - 1))
      if areFree(range) { return range }
    }
  }

  /// The first port of a block no other live process holds, starting the search at
  /// random; its lock's descriptor stays open (close-on-exec) until this process ends.
  private static func claimBlock() -> UInt16 {
    let folder = "/tmp/kit-ports"
    mkdir(folder, 0o777)
    chmod(folder, 0o1777)  // shared by every user's runs, like /tmp itself
    let start = Int.random(in: blocks)
    for offset in 0..<blocks.count {
      let block = blocks.lowerBound + (start - blocks.lowerBound + offset) % blocks.count
      // flock needs no write access: read-only, so a file another user made will do.
      let path = "\(folder)/block-\(block)"
      var fd = open(path, O_RDONLY | O_CLOEXEC)
      if fd < 0 {
        fd = open(path, O_CREAT | O_RDONLY | O_CLOEXEC, 0o666)
        if fd >= 0 { fchmod(fd, 0o666) }  // past the umask, for the next user
      }
      guard fd >= 0 else { continue }
      if flock(fd, LOCK_EX | LOCK_NB) == 0 { return UInt16(block) * blockSize }
      close(fd)
    }
    fatalError("every block of test ports in 20000-31999 is held by another process")
  }

  private static func bindSocket(_ port: UInt16, _ transport: Transport, listening: Bool = false)
    -> Int32?
  {
    let type = transport == .tcp ? SOCK_STREAM : SOCK_DGRAM
    let fd = socket(AF_INET, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard bound == 0, !listening || listen(fd, 1) == 0 else {
      close(fd)
      return nil
    }
    return fd
  }

  /// Whether something on this machine listens on (TCP) or is bound to (UDP) the port,
  /// as the kernel lists it in /proc/net: a check that consumes no connection, so even
  /// a server that accepts exactly one client can be waited for. Test ports are
  /// reserved for one test each, so whichever transport opened it is that test's server.
  /// `transport` narrows it to one, for a server that opens both (coturn).
  package static func isOpen(_ port: UInt16, _ transport: Transport? = nil) -> Bool {
    let suffix = Array(String(format: ":%04X", port).utf8)
    let tcp = {
      ["tcp", "tcp6"].contains { scan("/proc/net/\($0)", port: suffix, listeningOnly: true) }
    }
    let udp = {
      ["udp", "udp6"].contains { scan("/proc/net/\($0)", port: suffix, listeningOnly: false) }
    }
    switch transport {
    case .tcp: return tcp()
    case .udp: return udp()
    case nil: return tcp() || udp()
    }
  }

  /// Looks for a local address ending in `port` in a /proc/net table, reading it in
  /// chunks to its end (procfs files report size 0). The kernel lists listening TCP
  /// sockets before all others, so a TCP scan stops at the first line that is not
  /// LISTEN (state 0A): the thousands of TIME_WAIT lines that load tests leave behind
  /// are never read.
  private static func scan(_ table: String, port suffix: [UInt8], listeningOnly: Bool) -> Bool {
    let fd = open(table, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var chunk = [UInt8](repeating: 0, count: 65536)
    var line: [UInt8] = []
    var isHeader = true
    while true {
      let count = read(fd, &chunk, chunk.count)
      if count <= 0 { return false }
      for byte in chunk[..<count] {
        guard byte == UInt8(ascii: "\n") else {
          line.append(byte)
          continue
        }
        defer { line.removeAll(keepingCapacity: true) }
        if isHeader {
          isHeader = false
          continue
        }
        // "  sl  local_address rem_address   st ...": fields 1 and 3.
        let fields = line.split(separator: UInt8(ascii: " "))
        guard fields.count > 3 else { continue }
        let isListening = fields[3].elementsEqual("0A".utf8)
        if listeningOnly && !isListening { return false }
        if fields[1].reversed().starts(with: suffix.reversed()) { return true }
      }
    }
  }
}
