// chat-server's queues, line by line over Glibc: the twin of CSources/chat/queue.c.
// What one client is owed, kept until its socket takes it, apart from the poll loop so
// that fuzz/chat-swift can drive them with any chunks in any order.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let CHUNK = 4096  // the chapter's reader.read(4096)

struct Client {
  var fd: Int32
  var gone = false  // left or failed: closed after this pass
  var name: String  // "[::ffff:127.0.0.1]:54321", for messages
  var out: [UInt8] = []  // waiting to be sent: out[start] to out[out.count]
  var start = 0
}

// Appends to c's output buffer. An array grows by itself, and running out of memory
// ends the program: there is no failure to return.
func queue(_ c: inout Client, _ data: UnsafeRawBufferPointer) {
  if c.out.count + data.count > c.out.capacity && c.start > 0 {  // move what is left to the front
    c.out.removeSubrange(..<c.start)
    c.start = 0
  }
  c.out.append(contentsOf: data)
}

// Sends what the socket takes now; the rest waits for the next POLLOUT. -1 on error.
// MSG_NOSIGNAL: a peer that has gone makes send fail with EPIPE, not raise SIGPIPE,
// whose default action would end the server and every conversation in it.
func flush(_ c: inout Client) -> Int32 {
  while c.start < c.out.count {
    let (fd, start) = (c.fd, c.start)
    let n = c.out.withUnsafeBytes {
      send(fd, $0.baseAddress! + start, $0.count - start, Int32(MSG_NOSIGNAL))
    }
    if n < 0 {
      if errno == EINTR {
        continue
      }
      if errno == EAGAIN || errno == EWOULDBLOCK {
        return 0
      }
      fputs("\(c.name): send failed: \(String(cString: strerror(errno)))\n", stderr)
      return -1
    }
    c.start += n
  }
  c.out.removeAll(keepingCapacity: true)
  c.start = 0
  return 0
}
