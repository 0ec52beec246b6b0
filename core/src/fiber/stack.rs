//! Fiber stacks: carved 64 at a time out of one memory mapping, with a
//! guard page below each, committed lazily by the kernel, pooled per thread
//! (and handed on to the next runtime on the same thread), and a SIGSEGV
//! handler that turns an overflow into a message naming the fiber and the
//! setting.
//!
//! Layout of a chunk (one `mmap`, [`SLOTS_PER_CHUNK`] slots, low to high):
//!
//! ```text
//! | guard | stack 0 ...... | guard | stack 1 ...... | ... | guard | stack 63 ..... |
//!   ^ limit()        base() ^
//! ```
//!
//! Guard pages are installed with `madvise(MADV_GUARD_INSTALL)` (Linux
//! 6.13+), which leaves the chunk one mapping; where the kernel lacks it,
//! with `mprotect(PROT_NONE)`, which splits the mapping (two per stack, as
//! separate mappings would take).
//!
//! Invariants:
//! - A stack is only ever resumed on the thread whose pool handed it out,
//!   and a pool only moves between runtimes of one thread.
//! - The guard page is the lowest page of each slot, and `limit()` is its
//!   start. Rust emits stack probes for large frames, so an overflow always
//!   touches the guard page before any memory below it (the slot under it
//!   belongs to another fiber).
//! - A chunk is unmapped only when no stack carved from it is alive: every
//!   [`FiberStack`] holds a reference to its chunk.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Once;

use corosensei::stack::valgrind::ValgrindStackRegistration;
use corosensei::stack::{Stack, StackPointer, MIN_STACK_SIZE};

/// Stacks carved from one mapping.
pub(crate) const SLOTS_PER_CHUNK: usize = 64;

/// Stacks over the pool's limit wait in a batch before their memory is
/// given back to the kernel (`MADV_DONTNEED`), off the retire fast path.
const RELEASE_BATCH: usize = 64;

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
    /// Stacks kept for reuse with their memory committed.
    pub pooled: usize,
    /// Stack size in bytes (excluding the guard page).
    pub stack_size: usize,
    /// Memory mappings the pool's chunks take (one per 64 stacks where
    /// guard pages are installed in place, more where they split it).
    pub mappings: usize,
    /// Whether guard pages are installed in place (`MADV_GUARD_INSTALL`),
    /// so live fibers are not bounded by `vm.max_map_count`.
    pub guard_in_place: bool,
}

/// One mapping holding [`SLOTS_PER_CHUNK`] guard-paged stacks.
struct Chunk {
    base: usize,
    len: usize,
    /// Memory mappings this chunk takes (1, or 1 + 2 per guard).
    mappings: usize,
    /// How many of its stacks are decommitted in the pool's cold list.
    cold: Cell<usize>,
    /// Tells valgrind (if we run under it) where each stack is.
    valgrind: RefCell<Vec<ValgrindStackRegistration>>,
}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.valgrind.get_mut().clear();
        // SAFETY: `base..base + len` is the mapping this chunk created, and
        // no stack carved from it is alive (each holds an `Rc` of us).
        let r = unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
        debug_assert_eq!(r, 0, "munmap of a stack chunk failed");
    }
}

/// A fiber stack: one slot of a chunk.
pub(crate) struct FiberStack {
    chunk: Rc<Chunk>,
    /// Start of the slot's guard page (the stack's `limit()`).
    guard_lo: usize,
    /// One past the highest address (the stack's `base()`).
    top: usize,
}

// SAFETY: every slot has a guard page at `guard_lo` (installed when the
// chunk was made, before any slot is handed out), `top - guard_lo` exceeds
// MIN_STACK_SIZE plus the guard, both are page-aligned (so aligned to
// STACK_ALIGNMENT), and the memory stays mapped while this value lives
// (it holds its chunk).
unsafe impl Stack for FiberStack {
    #[inline]
    fn base(&self) -> StackPointer {
        StackPointer::new(self.top).expect("a mapped stack is not at address 0")
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        StackPointer::new(self.guard_lo).expect("a mapped stack is not at address 0")
    }
}

impl FiberStack {
    /// Gives the stack's pages back to the kernel; the next use faults in
    /// zeroed pages. The guard stays.
    fn decommit(&self) {
        let lo = self.guard_lo + page_size();
        // SAFETY: `lo..top` is this slot's stack (not its guard), mapped and
        // owned by us; no fiber runs on it (it is in the pool).
        unsafe {
            libc::madvise(lo as *mut libc::c_void, self.top - lo, libc::MADV_DONTNEED);
        }
    }
}

pub(crate) struct StackPool {
    /// Recently used stacks, memory committed (LIFO: the warmest first).
    free: Vec<FiberStack>,
    /// Over the limit, waiting to be decommitted in a batch.
    pending_release: Vec<FiberStack>,
    /// Decommitted stacks, reused before carving new ones.
    cold: Vec<FiberStack>,
    /// The chunk being carved and its next free slot.
    carving: Option<(Rc<Chunk>, usize)>,
    stack_size: usize,
    max_pooled: usize,
    in_use: usize,
    chunks: usize,
    mappings: usize,
    /// Cold stacks whose whole chunk is cold (candidates for unmapping).
    idle_stacks: usize,
}

thread_local! {
    /// The pool of the last runtime that ran on this thread, for the next
    /// one (with the same stack size) to start warm.
    static SPARE_POOL: RefCell<Option<StackPool>> = const { RefCell::new(None) };
}

impl StackPool {
    /// This thread's spare pool if its stack size matches, else a new one.
    pub(crate) fn for_thread(stack_size: usize, max_pooled: usize) -> Self {
        install_overflow_handler();
        let stack_size = round_to_page(stack_size.max(MIN_STACK_SIZE));
        let spare = SPARE_POOL
            .try_with(|p| p.borrow_mut().take())
            .ok()
            .flatten()
            .filter(|p| p.stack_size == stack_size);
        match spare {
            Some(mut pool) => {
                pool.max_pooled = max_pooled;
                pool.trim();
                pool
            }
            None => StackPool {
                stack_size,
                max_pooled,
                ..StackPool::empty()
            },
        }
    }

    /// A pool holding nothing (a placeholder; takes no thread-local).
    pub(crate) fn empty() -> Self {
        StackPool {
            free: Vec::new(),
            pending_release: Vec::new(),
            cold: Vec::new(),
            carving: None,
            stack_size: 0,
            max_pooled: 0,
            in_use: 0,
            chunks: 0,
            mappings: 0,
            idle_stacks: 0,
        }
    }

    /// Leaves this pool to the next runtime on this thread.
    pub(crate) fn hand_on(self) {
        let _ = SPARE_POOL.try_with(|p| *p.borrow_mut() = Some(self));
    }

    /// A stack from the pool, or a new slot.
    #[inline]
    pub(crate) fn take(&mut self) -> io::Result<FiberStack> {
        let stack = match self.free.pop() {
            Some(s) => s,
            None => self.take_slow()?,
        };
        // The next fiber will start at the top of the next warm stack:
        // start loading it now (after a burst it has gone cold).
        if let Some(next) = self.free.last() {
            for line in 1..=8 {
                crate::fiber::scheduler::prefetch(next.top - line * 64);
            }
        }
        self.in_use += 1;
        Ok(stack)
    }

    #[cold]
    fn take_slow(&mut self) -> io::Result<FiberStack> {
        if let Some(s) = self.pending_release.pop() {
            return Ok(s);
        }
        if let Some(s) = self.cold.pop() {
            let cold = s.chunk.cold.get();
            if cold == SLOTS_PER_CHUNK {
                self.idle_stacks = self.idle_stacks.saturating_sub(SLOTS_PER_CHUNK);
            }
            s.chunk.cold.set(cold - 1);
            return Ok(s);
        }
        if self
            .carving
            .as_ref()
            .is_none_or(|(_, next)| *next == SLOTS_PER_CHUNK)
        {
            let chunk = self.map_chunk().map_err(|e| self.explain(e))?;
            self.carving = Some((Rc::new(chunk), 0));
        }
        let (chunk, next) = self.carving.as_mut().expect("a chunk is being carved");
        let slot = slot_size(self.stack_size);
        let guard_lo = chunk.base + *next * slot;
        *next += 1;
        Ok(FiberStack {
            chunk: chunk.clone(),
            guard_lo,
            top: guard_lo + slot,
        })
    }

    /// Returns a stack for reuse; past the pool's limit its memory goes
    /// back to the kernel (in batches).
    #[inline]
    pub(crate) fn give_back(&mut self, stack: FiberStack) {
        self.in_use -= 1;
        if self.free.len() < self.max_pooled {
            self.free.push(stack);
        } else {
            self.pending_release.push(stack);
            if self.pending_release.len() >= RELEASE_BATCH {
                self.release_pending();
            }
        }
    }

    fn release_pending(&mut self) {
        for s in self.pending_release.drain(..) {
            s.decommit();
            let cold = s.chunk.cold.get() + 1;
            s.chunk.cold.set(cold);
            if cold == SLOTS_PER_CHUNK {
                self.idle_stacks += SLOTS_PER_CHUNK;
            }
            self.cold.push(s);
        }
        // A chunk whose 64 stacks are all cold holds nothing worth keeping:
        // unmap it by dropping them. Sweeping only once such stacks are at
        // least half of the cold list keeps the cost linear overall.
        if self.idle_stacks > 0 && 2 * self.idle_stacks >= self.cold.len() {
            let carving = self.carving.as_ref().map(|(c, _)| Rc::as_ptr(c));
            let mut unmapped = 0;
            let mut mappings = 0;
            self.cold.retain(|s| {
                let idle =
                    s.chunk.cold.get() == SLOTS_PER_CHUNK && Some(Rc::as_ptr(&s.chunk)) != carving;
                if idle && Rc::strong_count(&s.chunk) == 1 {
                    // The last of its chunk's stacks: the chunk goes now.
                    unmapped += 1;
                    mappings += s.chunk.mappings;
                }
                !idle
            });
            self.chunks -= unmapped;
            self.mappings -= mappings;
            self.idle_stacks = 0;
        }
    }

    /// Applies a (possibly lowered) limit to the warm stacks.
    fn trim(&mut self) {
        while self.free.len() > self.max_pooled {
            let s = self.free.pop().expect("longer than the limit");
            self.pending_release.push(s);
        }
        if !self.pending_release.is_empty() {
            self.release_pending();
        }
    }

    fn map_chunk(&mut self) -> io::Result<Chunk> {
        let page = page_size();
        let slot = slot_size(self.stack_size);
        let len = slot
            .checked_mul(SLOTS_PER_CHUNK)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "stack size too large"))?;
        // SAFETY: a fresh private anonymous mapping; we check the result.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = base as usize;
        let mut chunk = Chunk {
            base,
            len,
            mappings: 1,
            cold: Cell::new(0),
            valgrind: RefCell::new(Vec::with_capacity(SLOTS_PER_CHUNK)),
        };
        for i in 0..SLOTS_PER_CHUNK {
            let guard = base + i * slot;
            install_guard(guard, page)?;
            chunk
                .valgrind
                .get_mut()
                .push(ValgrindStackRegistration::new(guard as *mut u8, slot));
        }
        if !guard_in_place() {
            chunk.mappings = 2 * SLOTS_PER_CHUNK;
        }
        self.chunks += 1;
        self.mappings += chunk.mappings;
        Ok(chunk)
    }

    pub(crate) fn stats(&self) -> StackStats {
        StackStats {
            in_use: self.in_use,
            pooled: self.free.len(),
            stack_size: self.stack_size,
            mappings: self.mappings,
            guard_in_place: guard_in_place(),
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
                    "cannot map fiber stacks ({} fibers live, {} mappings for stacks): \
                     the memory is exhausted or, where guard pages split mappings, \
                     vm.max_map_count ({limit}) is reached; raise it \
                     (sysctl -w vm.max_map_count=1048576) or run fewer fibers at once",
                    self.in_use, self.mappings
                ),
            )
        } else {
            e
        }
    }
}

fn round_to_page(n: usize) -> usize {
    let page = page_size();
    n.div_ceil(page) * page
}

/// Bytes per slot: the guard page and the (page-rounded) stack.
fn slot_size(stack_size: usize) -> usize {
    page_size() + stack_size
}

const GUARD_UNKNOWN: u8 = 0;
const GUARD_MADVISE: u8 = 1;
const GUARD_MPROTECT: u8 = 2;
/// How guard pages are installed in this process (probed once).
static GUARD_MODE: AtomicU8 = AtomicU8::new(GUARD_UNKNOWN);
/// `MADV_GUARD_INSTALL` (Linux 6.13; not yet in every libc crate).
const MADV_GUARD_INSTALL: libc::c_int = 102;

fn guard_in_place() -> bool {
    GUARD_MODE.load(Ordering::Relaxed) != GUARD_MPROTECT
}

/// Makes `[addr, addr + len)` fault on any access.
fn install_guard(addr: usize, len: usize) -> io::Result<()> {
    if GUARD_MODE.load(Ordering::Relaxed) != GUARD_MPROTECT {
        // SAFETY: the range is a page-aligned part of a mapping we own and
        // nothing uses yet.
        let r = unsafe { libc::madvise(addr as *mut libc::c_void, len, MADV_GUARD_INSTALL) };
        if r == 0 {
            GUARD_MODE.store(GUARD_MADVISE, Ordering::Relaxed);
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINVAL) {
            return Err(e);
        }
        // The kernel does not know the advice: fall back for good.
        GUARD_MODE.store(GUARD_MPROTECT, Ordering::Relaxed);
    }
    // SAFETY: as above.
    if unsafe { libc::mprotect(addr as *mut libc::c_void, len, libc::PROT_NONE) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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
            let (name_ptr, name_len) =
                name.map_or((std::ptr::null(), 0), |n| (n.as_ptr(), n.len()));
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
