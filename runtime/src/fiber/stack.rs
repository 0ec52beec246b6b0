//! Fiber stacks: guard-paged mmaps, committed lazily by the kernel, pooled
//! per thread for reuse, and a SIGSEGV handler that turns an overflow into a
//! message naming the fiber and the setting.
//!
//! Invariants:
//! - A stack is only ever resumed on the thread whose pool handed it out.
//! - The guard page is the lowest page of the mapping (corosensei's
//!   `DefaultStack` layout: `limit()` is the start of the guard page). Rust
//!   emits stack probes for large frames, so an overflow always touches the
//!   guard page before any memory below it.

use std::cell::Cell;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use corosensei::stack::DefaultStack;

/// Statistics about one thread's stack pool, for leak checks and dumps.
///
/// ```
/// weft::run(|_env| {
///     let before = weft::runtime::stack_stats();
///     weft::Switch::run(|sw| {
///         sw.fork(|| weft::fiber::yield_now());
///         Ok(())
///     })
///     .unwrap();
///     let after = weft::runtime::stack_stats();
///     assert_eq!(before.in_use, after.in_use);
/// });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackStats {
    /// Stacks currently owned by a live fiber.
    pub in_use: usize,
    /// Stacks kept for reuse.
    pub pooled: usize,
    /// Stack size in bytes (excluding the guard page).
    pub stack_size: usize,
}

pub(crate) struct StackPool {
    free: Vec<DefaultStack>,
    stack_size: usize,
    max_pooled: usize,
    in_use: usize,
}

impl StackPool {
    pub(crate) fn new(stack_size: usize, max_pooled: usize) -> Self {
        install_overflow_handler();
        StackPool {
            free: Vec::new(),
            stack_size,
            max_pooled,
            in_use: 0,
        }
    }

    /// A stack from the pool, or a fresh mapping.
    pub(crate) fn take(&mut self) -> io::Result<DefaultStack> {
        let stack = match self.free.pop() {
            Some(s) => s,
            None => DefaultStack::new(self.stack_size).map_err(|e| self.explain(e))?,
        };
        self.in_use += 1;
        Ok(stack)
    }

    /// Returns a stack for reuse (or unmaps it when the pool is full).
    pub(crate) fn give_back(&mut self, stack: DefaultStack) {
        self.in_use -= 1;
        if self.free.len() < self.max_pooled {
            self.free.push(stack);
        }
    }

    pub(crate) fn stats(&self) -> StackStats {
        StackStats {
            in_use: self.in_use,
            pooled: self.free.len(),
            stack_size: self.stack_size,
        }
    }

    fn explain(&self, e: io::Error) -> io::Error {
        if e.raw_os_error() == Some(libc::ENOMEM) {
            let limit = std::fs::read_to_string("/proc/sys/vm/max_map_count")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "?".into());
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!(
                    "cannot map a fiber stack ({} fibers live): each stack takes two \
                     memory mappings and vm.max_map_count is {limit}; raise it \
                     (sysctl -w vm.max_map_count=1048576) or run fewer fibers at once",
                    self.in_use
                ),
            )
        } else {
            e
        }
    }
}

// ---- overflow detection -------------------------------------------------

fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *PAGE.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize })
}

static INSTALL: Once = Once::new();
/// Size of the guard below each stack, for the handler (set before any
/// fiber runs; an atomic so the signal handler reads it without a lock).
static GUARD_SIZE: AtomicUsize = AtomicUsize::new(0);
static mut PREVIOUS_SEGV: Option<libc::sigaction> = None;
static mut PREVIOUS_BUS: Option<libc::sigaction> = None;

fn install_overflow_handler() {
    INSTALL.call_once(|| {
        GUARD_SIZE.store(page_size(), Ordering::Relaxed);
        // SAFETY: we build a zeroed sigaction, fill the handler and flags, and
        // install it; the previous actions are saved once, before any fiber
        // runs, and only read by the handler afterwards.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = overflow_handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGSEGV, &action, &mut old) == 0 {
                PREVIOUS_SEGV = Some(old);
            }
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, &action, &mut old) == 0 {
                PREVIOUS_BUS = Some(old);
            }
        }
    });
    ensure_alt_stack();
}

thread_local! {
    static ALT_STACK: Cell<bool> = const { Cell::new(false) };
}

/// The handler must run on an alternate stack (the fiber's is exhausted).
/// Rust's std gives its threads one; threads made by foreign code may not
/// have one, so give them ours (leaked for the thread's life: it is tiny).
pub(crate) fn ensure_alt_stack() {
    if ALT_STACK.with(|a| a.replace(true)) {
        return;
    }
    // SAFETY: querying the current alternate stack is always allowed; when
    // there is none we install a leaked, never-freed buffer so it outlives
    // every signal delivered on this thread.
    unsafe {
        let mut current: libc::stack_t = std::mem::zeroed();
        if libc::sigaltstack(std::ptr::null(), &mut current) != 0 {
            return;
        }
        if current.ss_flags & libc::SS_DISABLE == 0 {
            return;
        }
        let size = libc::SIGSTKSZ.max(64 * 1024);
        let buffer = Box::leak(vec![0u8; size].into_boxed_slice());
        let stack = libc::stack_t {
            ss_sp: buffer.as_mut_ptr().cast(),
            ss_flags: 0,
            ss_size: size,
        };
        libc::sigaltstack(&stack, std::ptr::null_mut());
    }
}

extern "C" fn overflow_handler(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    ctx: *mut libc::c_void,
) {
    // SAFETY: called by the kernel with a valid siginfo; we only read
    // thread-locals without destructors, call write(2) and abort(3), all
    // async-signal-safe.
    unsafe {
        let addr = (*info).si_addr() as usize;
        let running = crate::fiber::scheduler::running_for_signal();
        if let Some((_, id, name, size)) =
            running.filter(|&(lo, ..)| addr >= lo && addr < lo + GUARD_SIZE.load(Ordering::Relaxed))
        {
            let (name_ptr, name_len) = name.map_or((std::ptr::null(), 0), |n| (n.as_ptr(), n.len()));
            let mut buf = [0u8; 512];
            let mut w = SignalWriter {
                buf: &mut buf,
                len: 0,
            };
            w.put(b"\nweft: fiber #");
            w.num(id as usize);
            if name_len > 0 {
                w.put(b" \"");
                w.put(std::slice::from_raw_parts(name_ptr, name_len));
                w.put(b"\"");
            }
            w.put(b" overflowed its stack of ");
            w.num(size / 1024);
            w.put(b" KiB; raise it with Runtime::builder().stack_size(bytes) or WEFT_STACK_SIZE. Aborting.\n");
            libc::write(2, w.buf.as_ptr().cast(), w.len);
            libc::abort();
        }
        let previous = if signal == libc::SIGSEGV {
            PREVIOUS_SEGV
        } else {
            PREVIOUS_BUS
        };
        chain(signal, info, ctx, previous);
    }
}

/// Hands a fault that is not a fiber overflow to whoever handled it before.
unsafe fn chain(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    ctx: *mut libc::c_void,
    previous: Option<libc::sigaction>,
) {
    let handler = previous.map_or(libc::SIG_DFL, |p| p.sa_sigaction);
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // SAFETY: restoring the default action and returning re-executes the
        // faulting instruction, which then kills the process as usual.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
        return;
    }
    let flags = previous.map_or(0, |p| p.sa_flags);
    // SAFETY: the previous handler was installed for this signal with these
    // flags; we call it with the matching signature.
    unsafe {
        if flags & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(handler);
            f(signal, info, ctx);
        } else {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(handler);
            f(signal);
        }
    }
}

/// Formats into a fixed buffer without allocating (signal context).
struct SignalWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl SignalWriter<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    fn num(&mut self, mut v: usize) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.put(&digits[i..]);
    }
}
