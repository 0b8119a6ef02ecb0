// chat server, line by line over Glibc: the twin of CSources/chat/server.c. Every
// client that connects joins the room; whatever one client sends is relayed, chunk by
// chunk as it arrives, to every other client; a client that leaves or fails is
// removed and its socket closed. One thread serves them all: a poll() loop over
// non-blocking sockets, with an output buffer per client so that one client that
// does not read holds up nobody else.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let BACKLOG: Int32 = 100  // asyncio.start_server's default backlog
let MAX_PENDING = 1 << 20  // bytes waiting for one client before it is dropped

// O_NONBLOCK: recv, send and accept return EAGAIN instead of waiting
func set_nonblocking(_ fd: Int32) -> Int32 {
  let flags = fcntl(fd, F_GETFL)
  if flags < 0 {
    return -1
  }
  return fcntl(fd, F_SETFL, flags | O_NONBLOCK)
}

@main
enum ChatServer {
  static func main() {
    var fd: Int32
    var opt: Int32 = 1
    var v6only: Int32 = 0  // IPV6_V6ONLY off: IPv4 clients too
    var paused = false
    var timeout: Int32
    var addr = sockaddr_in6()
    var addrlen: socklen_t
    var clients: [Client] = []
    var fds: [pollfd] = []  // fds[0] the listener, fds[i + 1] clients[i]
    var n: Int
    var buffer = [UInt8](repeating: 0, count: CHUNK)
    var ip = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    var got: Int
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit

    let listener = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
    if listener < 0 {
      perror("socket failed")
      exit(EXIT_FAILURE)
    }
    // asyncio sets SO_REUSEADDR on Unix: a restarted server binds at once
    if setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &opt, socklen_t(MemoryLayout<Int32>.size)) < 0
    {
      perror("setsockopt failed")
      exit(EXIT_FAILURE)
    }
    // Dual-stack: one socket for IPv6 and IPv4 clients, an IPv4 one showing as a mapped
    // address (::ffff:127.0.0.1). Linux's default, not every system's: say it
    if setsockopt(
      listener, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &v6only, socklen_t(MemoryLayout<Int32>.size)) < 0
    {
      perror("setsockopt failed")
      exit(EXIT_FAILURE)
    }
    memset(&addr, 0, MemoryLayout<sockaddr_in6>.size)
    addr.sin6_family = sa_family_t(AF_INET6)
    addr.sin6_addr = in6addr_any  // ::, IPv6 and IPv4
    addr.sin6_port = UInt16(port).bigEndian
    let bound = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
      }
    }
    if bound < 0 {
      perror("bind failed")
      exit(EXIT_FAILURE)
    }
    if listen(listener, BACKLOG) < 0 {
      perror("listen failed")
      exit(EXIT_FAILURE)
    }
    // Non-blocking too: a client that resets between poll and accept leaves nothing to
    // accept, and a blocking accept would stop the whole room until the next one
    if set_nonblocking(listener) < 0 {
      perror("fcntl failed")
      exit(EXIT_FAILURE)
    }
    clients.reserveCapacity(16)  // grown by doubling as clients arrive
    fds.reserveCapacity(16 + 1)
    print("Chat server on port \(port)")

    while true {
      // What to wait for: a new client, and for each client its next chunk, and room
      // in its socket if bytes are waiting for it. Nothing else wakes the loop.
      fds.removeAll(keepingCapacity: true)
      fds.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0))
      timeout = -1
      if paused {  // out of descriptors: leave new clients queued for a second
        fds[0].events = 0
        timeout = 1000
        paused = false
      }
      for i in 0..<clients.count {
        fds.append(pollfd(fd: clients[i].fd, events: Int16(POLLIN), revents: 0))
        if clients[i].start < clients[i].out.count {
          fds[i + 1].events |= Int16(POLLOUT)
        }
      }
      if poll(&fds, nfds_t(clients.count + 1), timeout) < 0 {
        if errno == EINTR {
          continue
        }
        perror("poll failed")
        exit(EXIT_FAILURE)
      }

      n = clients.count
      for i in 0..<n {
        let ready = fds[i + 1].revents
        if clients[i].gone {  // dropped while relaying earlier in this pass
          continue
        }
        if ready & Int16(POLLOUT) != 0 && flush(&clients[i]) < 0 {
          clients[i].gone = true
          continue
        }
        if ready & Int16(POLLIN | POLLHUP | POLLERR) == 0 {
          continue
        }
        // One read per wake-up, up to CHUNK bytes: whatever has arrived
        got = recv(clients[i].fd, &buffer, CHUNK, 0)
        if got < 0 {
          if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK {
            continue
          }
          fputs("\(clients[i].name): recv failed: \(String(cString: strerror(errno)))\n", stderr)
          clients[i].gone = true
        } else if got == 0 {
          // It left. What it is still owed goes out in one last try; flush
          // reports its own errors and the socket is closed either way.
          _ = flush(&clients[i])
          clients[i].gone = true
        } else {
          // Broadcast: the chunk, as it came, to everyone but its sender
          for j in 0..<n {
            if j == i || clients[j].gone {
              continue
            }
            // A client that does not read is not waited for: its bytes
            // pile up in its buffer, up to a limit, and then it goes
            if clients[j].out.count - clients[j].start + got > MAX_PENDING {
              fputs(
                "\(clients[j].name): dropped: it does not read (over \(MAX_PENDING) bytes waiting)\n",
                stderr)
              clients[j].gone = true
            } else {
              buffer.withUnsafeBytes {
                queue(&clients[j], UnsafeRawBufferPointer(rebasing: $0[..<got]))
              }
            }
          }
        }
      }

      // Remove who left: close, and close the gap in the array (Swift frees the buffer)
      for c in clients where c.gone {
        if close(c.fd) < 0 {
          perror("close failed")
        }
      }
      clients.removeAll { $0.gone }

      if fds[0].revents & Int16(POLLIN) == 0 {
        continue
      }
      // A new client: one accept per wake-up; poll reports the next one
      addrlen = socklen_t(MemoryLayout<sockaddr_in6>.size)
      fd = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &addrlen) }
      }
      if fd < 0 {
        if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED {
          continue
        }
        if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
          perror("accept failed")
          paused = true
          continue
        }
        perror("accept failed")
        exit(EXIT_FAILURE)
      }
      if set_nonblocking(fd) < 0 {
        perror("fcntl failed")
        if close(fd) < 0 {
          perror("close failed")
        }
        continue
      }
      // The arrays grow by themselves (an allocation failure ends the program)
      if inet_ntop(AF_INET6, &addr.sin6_addr, &ip, socklen_t(INET6_ADDRSTRLEN)) == nil {
        ip = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        ip[0] = CChar(UInt8(ascii: "?"))
      }
      let text = String(
        decoding: ip.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      clients.append(Client(fd: fd, name: "[\(text)]:\(UInt16(bigEndian: addr.sin6_port))"))
    }
  }
}
