// Who holds a port: for the message of a server that could not bind it. Reads the
// kernel's socket tables and each process's descriptors in /proc, as ss -p does.
import Foundation

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

extension Ports {
  /// Each socket bound to `port` (TCP or UDP, IPv4 or IPv6) and the processes that hold
  /// it, one line each: "tcp LISTEN held by pid 123 (turnserver, parent 1)". A socket
  /// that no process holds (TIME_WAIT) is listed with its state alone.
  package static func holders(of port: UInt16) -> [String] {
    let suffix = String(format: ":%04X", port)
    var sockets: [(inode: String, what: String)] = []
    for table in ["tcp", "tcp6", "udp", "udp6"] {
      guard let text = procFile("/proc/net/\(table)") else { continue }
      // "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode"
      for line in text.split(separator: "\n").dropFirst() {
        let fields = line.split(separator: " ")
        guard fields.count > 9, fields[1].hasSuffix(suffix) else { continue }
        sockets.append(
          (String(fields[9]), "\(table) \(state(fields[3], udp: table.hasPrefix("udp")))"))
      }
    }
    guard !sockets.isEmpty else { return [] }
    var owners: [String: [String]] = [:]  // socket inode: its processes
    let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for pid in processes where pid.allSatisfy(\.isNumber) {
      let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
      for fd in fds {
        guard
          let link = try? FileManager.default.destinationOfSymbolicLink(
            atPath: "/proc/\(pid)/fd/\(fd)"), link.hasPrefix("socket:[")
        else { continue }
        let inode = String(link.dropFirst(8).dropLast())
        guard sockets.contains(where: { $0.inode == inode }) else { continue }
        owners[inode, default: []].append(describe(pid))
      }
    }
    return sockets.map { socket in
      let held = owners[socket.inode] ?? []
      return held.isEmpty ? socket.what : "\(socket.what) held by \(held.joined(separator: ", "))"
    }
  }

  private static func state(_ code: Substring, udp: Bool) -> String {
    if udp { return "bound" }
    let names: [Substring: String] = [
      "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
      "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
      "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
    ]
    return names[code] ?? "state \(code)"
  }

  /// "pid 123 (turnserver, parent 1)"
  private static func describe(_ pid: String) -> String {
    let command =
      procFile("/proc/\(pid)/comm")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
    // /proc/<pid>/stat: "pid (comm) state ppid ...", comm may hold spaces: after the ")"
    let stat = procFile("/proc/\(pid)/stat") ?? ""
    let parent = stat.split(separator: ")").last?.split(separator: " ").dropFirst().first ?? "?"
    return "pid \(pid) (\(command), parent \(parent))"
  }

  /// A /proc file read to its end. Its size says 0, and a reader that trusts the size
  /// (String(contentsOfFile:) here) got only its first page: a long socket table was cut.
  private static func procFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = read(fd, &chunk, chunk.count)
      if count < 0 { return nil }
      if count == 0 { return String(decoding: bytes, as: UTF8.self) }
      bytes += chunk[..<count]
    }
  }
}
