// chat server over the Sockets library: the chapter's asyncio chat server as one event
// loop. Whatever a client sends is relayed, chunk by chunk as it arrives, to every
// other client; a client that leaves or fails is removed and its socket closed. Each
// client has its own queue of bytes waiting for it, so one that does not read holds up
// nobody else. Prints what CSources/chat/server.c prints.
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout, stderr
import KitOptions
import Sockets

let chunkSize = 4096  // the chapter's reader.read(4096)

@main
struct ChatServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "chat-server",
    abstract: "On port 8080: relay what each client sends to every other client.")

  @OptionGroup var options: ServerOptions

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let port = options.port(default: 8080)
    // Every interface, IPv6 and IPv4 (dual-stack); asyncio.start_server's default backlog
    let listener = try Socket.listen(port: port, backlog: 100)
    let room = try ChatRoom(listener: listener, poller: Poller())  // epoll on Linux, else poll
    print("Chat server on port \(port)")
    try room.run()
  }
}

/// A client, and the bytes waiting to be sent to it (queue.swift).
final class Member {
  let socket: Socket
  let name: String  // "[::ffff:127.0.0.1]:54321", for messages
  var pending = Pending()
  var gone = false  // left or failed: closed at the end of this turn

  init(_ socket: Socket, name: String) {
    self.socket = socket
    self.name = name
  }

  var waiting: Int { pending.waiting }

  /// Adds to what waits for it; false if more than maxPending bytes would wait.
  func queue(_ bytes: ArraySlice<UInt8>) -> Bool { pending.queue(bytes) }

  /// Sends what the socket takes now; the rest waits until it is writable.
  func flush() throws(SocketError) {
    let sent = try socket.sendNow(pending.next)
    pending.sent(sent)
  }
}

final class ChatRoom {
  let listener: Socket
  let poller: Poller
  var members: [Socket: Member] = [:]
  var leaving: [Member] = []
  var paused = false  // accept ran out of descriptors: new clients wait a second
  var buffer = [UInt8](repeating: 0, count: chunkSize)  // every receive, allocated once

  init(listener: Socket, poller: Poller) throws(SocketError) {
    self.listener = listener
    self.poller = poller
    try poller.register(listener, for: .readable)
  }

  func run() throws(SocketError) -> Never {
    while true {
      // A new client, the next chunk of each client, and room in the sockets of those
      // that bytes wait for: nothing else wakes the loop
      try poller.modify(listener, to: paused ? [] : .readable)
      let events = try poller.wait(timeout: paused ? .seconds(1) : nil)
      paused = false
      for event in events {
        if event.socket === listener {
          acceptClients()
        } else if let member = members[event.socket], !member.gone {
          serve(member, event.readiness)
        }
      }
      // Remove who left
      for member in leaving {
        poller.unregister(member.socket)
        member.socket.close()
        members[member.socket] = nil
      }
      leaving.removeAll(keepingCapacity: true)
    }
  }

  func serve(_ member: Member, _ readiness: Readiness) {
    do {
      if readiness.contains(.writable) { try member.flush() }
      if readiness.contains(.readable) { try receive(from: member) }
      try watch(member)
    } catch {
      remove(member, "\(error.call) failed: \(error.reason)")
    }
  }

  /// One receive per wake-up, up to chunkSize bytes: whatever has arrived.
  func receive(from member: Member) throws(SocketError) {
    switch try member.socket.receiveNow(into: &buffer) {
    case .wouldBlock:
      break
    case .endOfStream:
      // It left. What it is still owed goes out in one last try; it is closed either way
      try member.flush()
      leave(member)
    case .bytes(let count):
      relay(buffer[..<count], from: member)
    }
  }

  /// The chunk, as it came, to everyone but its sender: straight to each socket if
  /// nothing waits for it already, and what the socket does not take, after the rest.
  func relay(_ chunk: ArraySlice<UInt8>, from sender: Member) {
    for member in members.values where member !== sender && !member.gone {
      do {
        let sent = member.waiting == 0 ? try member.socket.sendNow(chunk) : 0
        guard member.queue(chunk.dropFirst(sent)) else {
          remove(member, "dropped: it does not read (over \(maxPending) bytes waiting)")
          continue
        }
        try watch(member)
      } catch {
        remove(member, "\(error.call) failed: \(error.reason)")
      }
    }
  }

  /// Readable always; writable only while bytes wait for it, or the poller would
  /// report it at once, forever (no call to the kernel when nothing changes).
  func watch(_ member: Member) throws(SocketError) {
    guard !member.gone else { return }
    try poller.modify(member.socket, to: member.waiting > 0 ? [.readable, .writable] : .readable)
  }

  func acceptClients() {
    do {
      while let (socket, address) = try listener.acceptNow() {
        try poller.register(socket, for: .readable)
        members[socket] = Member(socket, name: "\(address)")
      }
    } catch {
      // Out of descriptors, or of memory: leave new clients queued for a second
      fputs("\(error.call) failed: \(error.reason)\n", stderr)
      paused = true
    }
  }

  /// Removes a client that failed, saying why.
  func remove(_ member: Member, _ why: String) {
    fputs("\(member.name): \(why)\n", stderr)
    leave(member)
  }

  func leave(_ member: Member) {
    member.gone = true
    leaving.append(member)
  }
}
