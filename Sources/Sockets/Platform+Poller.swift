// The C side of a Poller: select(2), poll(2) and epoll(7), one class each. Each keeps
// what its kernel interface needs, in the form that interface wants, and reports
// readiness back as descriptor numbers; Poller.swift, plain Swift, maps them to sockets.
//
// Glibc's Swift module has neither the FD_SET macros nor <sys/epoll.h>: they come from
// the kit's C target, CShims.

import CShims

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#else
  #error("Sockets needs Glibc, Musl or Darwin.")
#endif

extension Poller {
  /// The kernel interface a Poller waits in. A program names one, and nothing else in it
  /// changes; what changes is the cost, and what the kernel can watch.
  public enum Backend: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// select(2), POSIX: bit arrays of descriptors, copied to the kernel and scanned on
    /// every call, so a wait costs as much as the highest descriptor. Descriptors must
    /// be below FD_SETSIZE (1024): `register` refuses the others.
    case select
    /// poll(2), POSIX: an array of (descriptor, events), any descriptor number, but the
    /// whole array goes to the kernel and back on every call: a wait costs as much as
    /// the number of sockets registered.
    case poll
    #if os(Linux)
      /// epoll(7), Linux: the kernel keeps the list, a change costs a call (epoll_ctl),
      /// and a wait returns only the ready sockets: it costs as much as their number.
      case epoll
    #endif

    /// The best this system has: epoll on Linux, poll elsewhere.
    public static var preferred: Backend {
      #if os(Linux)
        .epoll
      #else
        .poll
      #endif
    }

    public var description: String {
      switch self {
      case .select: "select"
      case .poll: "poll"
      #if os(Linux)
        case .epoll: "epoll"
      #endif
      }
    }

    func makeKernel() -> Result<any PollerKernel, Errno> {
      switch self {
      case .select: .success(SelectKernel())
      case .poll: .success(PollKernel())
      #if os(Linux)
        case .epoll: EpollKernel.make()
      #endif
      }
    }

    /// The C calls that errors name: setting up, changing the list, waiting. select and
    /// poll keep their lists in the process, so only their wait can fail. Each backend
    /// names its own, with no default case: a new one cannot borrow another's by mistake.
    var calls: (setUp: String, control: String, wait: String) {
      switch self {
      case .select: ("select", "select", "select")
      case .poll: ("poll", "poll", "poll")
      #if os(Linux)
        case .epoll: ("epoll_create1", "epoll_ctl", "epoll_wait")
      #endif
      }
    }
  }
}

/// The kernel side of a Poller.
protocol PollerKernel: AnyObject {
  /// Descriptors must be below this.
  var limit: Int32 { get }
  /// Watches `fd` for `interest` from now on (`[]`: not at all, for now); `old` is what
  /// it was watched for, nil if it is new.
  func watch(_ fd: Int32, for interest: Readiness, was old: Readiness?) -> Result<Void, Errno>
  /// Stops watching `fd`, which may have been closed already.
  func forget(_ fd: Int32, was old: Readiness)
  /// Waits up to `milliseconds` (-1: no limit), then reports each ready descriptor and
  /// what it is ready for; an error or a hang-up as both.
  func wait(milliseconds: Int32, _ report: (Int32, Readiness) -> Void) -> Result<Void, Errno>
}

extension Readiness {
  /// As poll(2) asks.
  var pollEvents: Int16 {
    (contains(.readable) ? Int16(POLLIN) : 0) | (contains(.writable) ? Int16(POLLOUT) : 0)
  }

  /// As poll(2) answers. POLLNVAL (not an open descriptor) too: the Poller then finds
  /// the socket closed, and forgets it.
  init(pollEvents events: Int16) {
    let trouble = Int16(POLLERR | POLLHUP | POLLNVAL)
    self = events & trouble != 0 ? [.readable, .writable] : []
    if events & Int16(POLLIN) != 0 { insert(.readable) }
    if events & Int16(POLLOUT) != 0 { insert(.writable) }
  }
}

// MARK: - select

/// Two fd_sets kept up to date as sockets come and go; each wait hands the kernel a
/// copy, because select overwrites its sets with the ready descriptors.
final class SelectKernel: PollerKernel {
  @exclusivity(unchecked) private var reading = fd_set()  // zero-filled: FD_ZERO
  @exclusivity(unchecked) private var writing = fd_set()
  /// One past the highest descriptor in either set: select's first argument.
  @exclusivity(unchecked) private var end: Int32 = 0

  let limit = Int32(FD_SETSIZE)

  func watch(_ fd: Int32, for interest: Readiness, was old: Readiness?) -> Result<Void, Errno> {
    if interest.contains(.readable) { kit_FD_SET(fd, &reading) } else { kit_FD_CLR(fd, &reading) }
    if interest.contains(.writable) { kit_FD_SET(fd, &writing) } else { kit_FD_CLR(fd, &writing) }
    if interest.isEmpty { shrink() } else { end = max(end, fd + 1) }
    return .success(())
  }

  func forget(_ fd: Int32, was old: Readiness) {
    kit_FD_CLR(fd, &reading)
    kit_FD_CLR(fd, &writing)
    shrink()
  }

  private func shrink() {
    while end > 0, kit_FD_ISSET(end - 1, &reading) == 0, kit_FD_ISSET(end - 1, &writing) == 0 {
      end -= 1
    }
  }

  func wait(milliseconds: Int32, _ report: (Int32, Readiness) -> Void) -> Result<Void, Errno> {
    var readable = reading
    var writable = writing
    var count: Int32
    if milliseconds < 0 {
      count = select(end, &readable, &writable, nil, nil)
    } else {
      var timeout = timeval(
        tv_sec: time_t(milliseconds / 1000), tv_usec: suseconds_t(milliseconds % 1000 * 1000))
      count = select(end, &readable, &writable, nil, &timeout)
    }
    guard count != -1 else { return .failure(.current) }
    // count is the number of bits set in both sets; stop scanning once all are found
    var fd: Int32 = 0
    while count > 0, fd < end {
      var ready: Readiness = []
      if kit_FD_ISSET(fd, &readable) != 0 { ready.insert(.readable) }
      if kit_FD_ISSET(fd, &writable) != 0 { ready.insert(.writable) }
      if !ready.isEmpty {
        count -= ready == [.readable, .writable] ? 2 : 1
        report(fd, ready)
      }
      fd += 1
    }
    return .success(())
  }
}

// MARK: - poll

/// The pollfd array, one entry per registered descriptor, passed whole to every poll.
final class PollKernel: PollerKernel {
  @exclusivity(unchecked) private var entries: [pollfd] = []
  /// Where each descriptor's entry is in `entries` (-1: none), by descriptor number.
  @exclusivity(unchecked) private var slots: [Int] = []

  let limit = Int32.max

  func watch(_ fd: Int32, for interest: Readiness, was old: Readiness?) -> Result<Void, Errno> {
    // poll skips an entry whose descriptor is negative, and reports nothing for it, not
    // even a hang-up: ~fd (-fd - 1) keeps the number, and the entry, for later.
    let entry = pollfd(fd: interest.isEmpty ? ~fd : fd, events: interest.pollEvents, revents: 0)
    if Int(fd) < slots.count, slots[Int(fd)] >= 0 {
      entries[slots[Int(fd)]] = entry
    } else {
      if Int(fd) >= slots.count { slots += repeatElement(-1, count: Int(fd) + 1 - slots.count) }
      slots[Int(fd)] = entries.count
      entries.append(entry)
    }
    return .success(())
  }

  func forget(_ fd: Int32, was old: Readiness) {
    guard Int(fd) < slots.count, slots[Int(fd)] >= 0 else { return }
    // The last entry moves into the hole: the array stays dense for poll
    let slot = slots[Int(fd)]
    let last = entries.removeLast()
    if slot < entries.count {
      entries[slot] = last
      slots[Int(last.fd < 0 ? ~last.fd : last.fd)] = slot
    }
    slots[Int(fd)] = -1
  }

  func wait(milliseconds: Int32, _ report: (Int32, Readiness) -> Void) -> Result<Void, Errno> {
    var count = entries.withUnsafeMutableBufferPointer {
      poll($0.baseAddress, nfds_t($0.count), milliseconds)
    }
    guard count != -1 else { return .failure(.current) }
    // count is the number of entries with events; stop scanning once all are found
    var slot = 0
    while count > 0, slot < entries.count {
      let entry = entries[slot]
      if entry.revents != 0 {
        count -= 1
        report(entry.fd, Readiness(pollEvents: entry.revents))
      }
      slot += 1
    }
    return .success(())
  }
}

// MARK: - epoll

#if os(Linux)
  /// An epoll instance: the kernel keeps the list, so each change is a call, and a wait
  /// fills an array with the ready descriptors only.
  final class EpollKernel: PollerKernel {
    private let epfd: Int32
    /// Where epoll_wait puts the ready descriptors: at most this many per wait, the
    /// others on the next one (level-triggered, they are still ready).
    @exclusivity(unchecked) private var events = [epoll_event](repeating: epoll_event(), count: 256)

    let limit = Int32.max

    private init(_ epfd: Int32) {
      self.epfd = epfd
    }

    static func make() -> Result<any PollerKernel, Errno> {
      checked(epoll_create1(Int32(EPOLL_CLOEXEC))).map { EpollKernel($0) }
    }

    deinit {
      close(epfd)
    }

    func watch(_ fd: Int32, for interest: Readiness, was old: Readiness?) -> Result<Void, Errno> {
      let was = old ?? []
      // Registered for nothing: out of the kernel's list altogether, because epoll
      // reports an error or a hang-up on a listed descriptor even with no events asked.
      if interest.isEmpty {
        return was.isEmpty ? .success(()) : control(EPOLL_CTL_DEL, fd, [])
      }
      guard was.isEmpty else { return control(EPOLL_CTL_MOD, fd, interest) }
      switch control(EPOLL_CTL_ADD, fd, interest) {
      case .failure(.alreadyRegistered):  // still listed under a copy of a closed descriptor
        return control(EPOLL_CTL_MOD, fd, interest)
      case let other:
        return other
      }
    }

    func forget(_ fd: Int32, was old: Readiness) {
      // Fails (EBADF, ENOENT) if the socket was closed: close took it off the list then
      if !old.isEmpty { _ = control(EPOLL_CTL_DEL, fd, []) }
    }

    private func control(
      _ operation: Int32, _ fd: Int32, _ interest: Readiness
    ) -> Result<Void, Errno> {
      var event = epoll_event()
      event.events =
        (interest.contains(.readable) ? EPOLLIN.rawValue : 0)
        | (interest.contains(.writable) ? EPOLLOUT.rawValue : 0)
      event.data.fd = fd
      return checked(epoll_ctl(epfd, operation, fd, &event)).map { _ in () }
    }

    func wait(milliseconds: Int32, _ report: (Int32, Readiness) -> Void) -> Result<Void, Errno> {
      let count = epoll_wait(epfd, &events, Int32(events.count), milliseconds)
      guard count != -1 else { return .failure(.current) }
      let trouble = EPOLLERR.rawValue | EPOLLHUP.rawValue
      for index in 0..<Int(count) {
        let flags = events[index].events
        var ready: Readiness = flags & trouble != 0 ? [.readable, .writable] : []
        if flags & EPOLLIN.rawValue != 0 { ready.insert(.readable) }
        if flags & EPOLLOUT.rawValue != 0 { ready.insert(.writable) }
        report(events[index].data.fd, ready)
      }
      return .success(())
    }
  }
#endif
