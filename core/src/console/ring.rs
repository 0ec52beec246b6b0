//! The shared-memory structures of the console file, over plain words
//! (`AtomicU64`), so one process writes them and another reads them without
//! locks: the event ring (one writer, many readers, overwrite on wrap), the
//! live-fiber table (entries validated by their key and version words) and
//! the string arena (append-only).
//!
//! Every structure works on a `&[AtomicU64]`, whether it lives in a
//! mapping of the console file or in a test's heap buffer.

use std::sync::atomic::{fence, AtomicU64, Ordering};

/// Words per event record: one sequence word and [`PAYLOAD_WORDS`].
pub const RECORD_WORDS: usize = 8;
/// Payload words per event record.
pub const PAYLOAD_WORDS: usize = RECORD_WORDS - 1;
/// Sequence word of a record being written.
const BUSY: u64 = u64::MAX;

/// One event record's payload (see `events.rs` for its meaning).
pub type Payload = [u64; PAYLOAD_WORDS];

/// A single-writer ring of fixed-size event records.
///
/// The writer never waits: when it laps a slow reader, the oldest records
/// are overwritten and the reader counts them as lost. Each record carries
/// its position (plus one) in its sequence word, written last, and the
/// reader checks it before and after copying the payload, so a record
/// overwritten during the copy is reported lost, never returned torn.
///
/// ```
/// use std::sync::atomic::AtomicU64;
/// use weft::console::ring::{Ring, RECORD_WORDS};
/// let words: Vec<AtomicU64> = (0..1 + 4 * RECORD_WORDS).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::new(&words[0], &words[1..]);
/// ring.push(&[7, 0, 0, 0, 0, 0, 0]);
/// let mut pos = 0;
/// let mut out = Vec::new();
/// assert_eq!(ring.read(&mut pos, &mut out), 0);
/// assert_eq!(out[0][0], 7);
/// ```
#[derive(Clone, Copy)]
pub struct Ring<'a> {
    head: &'a AtomicU64,
    records: &'a [AtomicU64],
    capacity: u64,
    /// `capacity - 1` when the capacity is a power of two (a mask instead
    /// of a division per record), else 0.
    mask: u64,
}

impl<'a> Ring<'a> {
    /// A ring whose write position is `head` and whose records fill
    /// `records` (a whole number of [`RECORD_WORDS`]).
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..9).map(|_| AtomicU64::new(0)).collect();
    /// let ring = weft::console::ring::Ring::new(&words[0], &words[1..]);
    /// assert_eq!(ring.capacity(), 1);
    /// ```
    pub fn new(head: &'a AtomicU64, records: &'a [AtomicU64]) -> Self {
        let capacity = (records.len() / RECORD_WORDS) as u64;
        assert!(capacity > 0, "a ring needs room for one record");
        let mask = if capacity.is_power_of_two() {
            capacity - 1
        } else {
            0
        };
        Ring {
            head,
            records,
            capacity,
            mask,
        }
    }

    /// How many records the ring holds before it overwrites.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..17).map(|_| AtomicU64::new(0)).collect();
    /// assert_eq!(weft::console::ring::Ring::new(&words[0], &words[1..]).capacity(), 2);
    /// ```
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// How many records were ever written.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..9).map(|_| AtomicU64::new(0)).collect();
    /// let ring = weft::console::ring::Ring::new(&words[0], &words[1..]);
    /// ring.push(&[0; 7]);
    /// ring.push(&[0; 7]);
    /// assert_eq!(ring.written(), 2);
    /// ```
    pub fn written(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    #[inline]
    fn slot(&self, pos: u64) -> &'a [AtomicU64; RECORD_WORDS] {
        let at = if self.mask != 0 || self.capacity == 1 {
            pos & self.mask
        } else {
            pos % self.capacity
        };
        let i = at as usize * RECORD_WORDS;
        self.records[i..i + RECORD_WORDS]
            .try_into()
            .expect("a record is RECORD_WORDS long")
    }

    /// Appends a record. Only one thread may ever push to a ring.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..9).map(|_| AtomicU64::new(0)).collect();
    /// weft::console::ring::Ring::new(&words[0], &words[1..]).push(&[1, 2, 3, 4, 5, 6, 7]);
    /// ```
    #[inline]
    pub fn push(&self, payload: &Payload) {
        let pos = self.head.load(Ordering::Relaxed);
        let slot = self.slot(pos);
        slot[0].store(BUSY, Ordering::Relaxed);
        // Readers that see any of the payload stores below also see BUSY.
        fence(Ordering::Release);
        for (w, v) in slot[1..].iter().zip(payload) {
            w.store(*v, Ordering::Relaxed);
        }
        slot[0].store(pos + 1, Ordering::Release);
        self.head.store(pos + 1, Ordering::Release);
    }

    /// Copies the records from `*pos` to the write position into `out`,
    /// advances `*pos`, and returns how many records were lost (overwritten
    /// before they could be read).
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// use weft::console::ring::Ring;
    /// let words: Vec<AtomicU64> = (0..1 + 2 * 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::new(&words[0], &words[1..]);
    /// for i in 0..5 {
    ///     ring.push(&[i, 0, 0, 0, 0, 0, 0]);
    /// }
    /// let (mut pos, mut out) = (0, Vec::new());
    /// assert_eq!(ring.read(&mut pos, &mut out), 3);
    /// assert_eq!(out.iter().map(|r| r[0]).collect::<Vec<_>>(), [3, 4]);
    /// ```
    pub fn read(&self, pos: &mut u64, out: &mut Vec<Payload>) -> u64 {
        let head = self.head.load(Ordering::Acquire);
        if *pos > head {
            // The ring was reset (a new writer): start over.
            *pos = 0;
        }
        let mut lost = 0;
        if head - *pos > self.capacity {
            lost += head - self.capacity - *pos;
            *pos = head - self.capacity;
        }
        while *pos < head {
            match self.read_one(*pos) {
                Some(p) => out.push(p),
                None => lost += 1,
            }
            *pos += 1;
        }
        lost
    }

    fn read_one(&self, pos: u64) -> Option<Payload> {
        let slot = self.slot(pos);
        let before = slot[0].load(Ordering::Acquire);
        if before != pos + 1 {
            return None;
        }
        let mut p = [0u64; PAYLOAD_WORDS];
        for (v, w) in p.iter_mut().zip(&slot[1..]) {
            *v = w.load(Ordering::Relaxed);
        }
        // Orders the payload loads before the second look at the sequence.
        fence(Ordering::Acquire);
        let after = slot[0].load(Ordering::Relaxed);
        (after == before).then_some(p)
    }
}

/// Words per live-table entry: one reserved word and [`ENTRY_FIELDS`].
pub const ENTRY_WORDS: usize = 16;
/// Field words per live-table entry.
pub const ENTRY_FIELDS: usize = ENTRY_WORDS - 1;
/// The field that holds an entry's key: nonzero while the entry is
/// published, unique for its whole life (a fiber id), 0 when free.
pub const KEY_FIELD: usize = 0;
/// The field that changes with every change of the fields it describes
/// (a state word: see `events::StateWord`).
pub const VERSION_FIELD: usize = 3;

/// One live-table entry's fields (see `events.rs`, `field`).
pub type Entry = [u64; ENTRY_FIELDS];

/// A table of fixed-size entries, each written by one thread and read by
/// anyone, without locks.
///
/// The writer fills an entry's fields while its key ([`KEY_FIELD`]) is 0,
/// then publishes the key ([`LiveTable::publish`]); while the entry is
/// published, the fields that change are stored before the one word that
/// describes them ([`VERSION_FIELD`], which differs after every change); to
/// free the entry it stores key 0. A reader reads key and version, the
/// fields, then key and version again, and keeps the copy only when both
/// are unchanged: the fields the version describes are then those of that
/// version, and the others (counters) as they were at some moment of the
/// read. A change costs its own stores and no lock round.
///
/// ```
/// use std::sync::atomic::AtomicU64;
/// use weft::console::ring::{LiveTable, ENTRY_WORDS, KEY_FIELD};
/// let words: Vec<AtomicU64> = (0..2 * ENTRY_WORDS).map(|_| AtomicU64::new(0)).collect();
/// let table = LiveTable::new(&words);
/// table.set(1, 2, 42);
/// table.publish(1, KEY_FIELD, 7);
/// assert_eq!(table.read(1).unwrap()[2], 42);
/// ```
#[derive(Clone, Copy)]
pub struct LiveTable<'a> {
    words: &'a [AtomicU64],
}

impl<'a> LiveTable<'a> {
    /// A table over `words` (a whole number of [`ENTRY_WORDS`]).
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..32).map(|_| AtomicU64::new(0)).collect();
    /// assert_eq!(weft::console::ring::LiveTable::new(&words).len(), 2);
    /// ```
    pub fn new(words: &'a [AtomicU64]) -> Self {
        LiveTable { words }
    }

    /// How many entries the table has.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
    /// assert_eq!(weft::console::ring::LiveTable::new(&words).len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.words.len() / ENTRY_WORDS
    }

    /// Whether the table has no entries.
    ///
    /// ```
    /// assert!(weft::console::ring::LiveTable::new(&[]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    fn word(&self, i: usize, field: usize) -> &'a AtomicU64 {
        &self.words[i * ENTRY_WORDS + 1 + field]
    }

    /// Entry `i`, for a writer that changes several of its fields (one
    /// bounds check for all of them).
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
    /// let t = weft::console::ring::LiveTable::new(&words);
    /// let e = t.entry(0);
    /// e.set(4, e.get(4) + 2);
    /// assert_eq!(t.get(0, 4), 2);
    /// ```
    #[inline]
    pub fn entry(&self, i: usize) -> EntryRef<'a> {
        let words: &'a [AtomicU64; ENTRY_WORDS] = self.words
            [i * ENTRY_WORDS..(i + 1) * ENTRY_WORDS]
            .try_into()
            .expect("an entry is ENTRY_WORDS long");
        EntryRef(words)
    }

    /// The table as whole entries (for a writer that keeps them at hand:
    /// see [`EntryRef::new`]).
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..40).map(|_| AtomicU64::new(0)).collect();
    /// assert_eq!(weft::console::ring::LiveTable::new(&words).entries().len(), 2);
    /// ```
    #[inline(always)]
    pub fn entries(&self) -> &'a [[AtomicU64; ENTRY_WORDS]] {
        let n = self.words.len() / ENTRY_WORDS;
        // SAFETY: `[AtomicU64; ENTRY_WORDS]` is ENTRY_WORDS contiguous
        // AtomicU64s with their alignment, and the first
        // `n * ENTRY_WORDS` words of `self.words` are in bounds and
        // borrowed for 'a.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast(), n) }
    }

    /// Field `field` of entry `i` as its writer last stored it (the
    /// writer's own read).
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
    /// let t = weft::console::ring::LiveTable::new(&words);
    /// t.set(0, 8, 3);
    /// assert_eq!(t.get(0, 8), 3);
    /// ```
    #[inline]
    pub fn get(&self, i: usize, field: usize) -> u64 {
        self.word(i, field).load(Ordering::Relaxed)
    }

    /// Stores field `field` of entry `i`: a field the next [`publish`]
    /// makes visible (only one thread may write a given entry).
    ///
    /// [`publish`]: LiveTable::publish
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
    /// let t = weft::console::ring::LiveTable::new(&words);
    /// t.set(0, 8, t.get(0, 8) + 1);
    /// assert_eq!(t.get(0, 8), 1);
    /// ```
    #[inline]
    pub fn set(&self, i: usize, field: usize, v: u64) {
        self.word(i, field).store(v, Ordering::Relaxed)
    }

    /// Stores field `field` (the key or the version) of entry `i` after
    /// every store made before it, for readers that see it.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// use weft::console::ring::{LiveTable, KEY_FIELD};
    /// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
    /// let t = LiveTable::new(&words);
    /// t.publish(0, KEY_FIELD, 5);
    /// assert_eq!(t.read(0).unwrap()[KEY_FIELD], 5);
    /// ```
    #[inline]
    pub fn publish(&self, i: usize, field: usize, v: u64) {
        self.word(i, field).store(v, Ordering::Release)
    }

    /// Empties entry `i` (all fields 0), for a writer that owns it.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
    /// let t = weft::console::ring::LiveTable::new(&words);
    /// t.set(0, 4, 9);
    /// t.clear(0);
    /// assert_eq!(t.read(0), Some([0; 15]));
    /// ```
    pub fn clear(&self, i: usize) {
        self.publish(i, KEY_FIELD, 0);
        for f in 1..ENTRY_FIELDS {
            self.set(i, f, 0);
        }
    }

    /// A consistent copy of entry `i` (all zeros when free), or `None`
    /// when it kept changing during a few attempts.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
    /// assert_eq!(weft::console::ring::LiveTable::new(&words).read(0), Some([0; 15]));
    /// ```
    pub fn read(&self, i: usize) -> Option<Entry> {
        let key = self.word(i, KEY_FIELD);
        let version = self.word(i, VERSION_FIELD);
        for _ in 0..64 {
            let k = key.load(Ordering::Acquire);
            if k == 0 {
                return Some([0; ENTRY_FIELDS]);
            }
            let v = version.load(Ordering::Acquire);
            let mut fields = [0u64; ENTRY_FIELDS];
            for (f, out) in fields.iter_mut().enumerate() {
                *out = self.word(i, f).load(Ordering::Relaxed);
            }
            // Orders the field loads before the second look.
            fence(Ordering::Acquire);
            if key.load(Ordering::Relaxed) == k && version.load(Ordering::Relaxed) == v {
                fields[KEY_FIELD] = k;
                fields[VERSION_FIELD] = v;
                return Some(fields);
            }
            std::hint::spin_loop();
        }
        None
    }
}

/// One live-table entry open for its writer (see [`LiveTable`] for the
/// order of stores readers rely on).
#[derive(Clone, Copy)]
pub struct EntryRef<'a>(&'a [AtomicU64; ENTRY_WORDS]);

impl<'a> EntryRef<'a> {
    /// The entry made of `words` (one of [`LiveTable::entries`]).
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// use weft::console::ring::{EntryRef, LiveTable};
    /// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
    /// let t = LiveTable::new(&words);
    /// EntryRef::new(&t.entries()[0]).set(3, 9);
    /// assert_eq!(t.get(0, 3), 9);
    /// ```
    #[inline(always)]
    pub fn new(words: &'a [AtomicU64; ENTRY_WORDS]) -> Self {
        EntryRef(words)
    }

    /// Field `field` as the writer last stored it.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
    /// assert_eq!(weft::console::ring::LiveTable::new(&words).entry(0).get(2), 0);
    /// ```
    #[inline(always)]
    pub fn get(&self, field: usize) -> u64 {
        self.0[1 + field].load(Ordering::Relaxed)
    }

    /// Stores field `field` (see [`LiveTable::set`]).
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
    /// let t = weft::console::ring::LiveTable::new(&words);
    /// t.entry(0).set(2, 8);
    /// assert_eq!(t.get(0, 2), 8);
    /// ```
    #[inline(always)]
    pub fn set(&self, field: usize, v: u64) {
        self.0[1 + field].store(v, Ordering::Relaxed)
    }

    /// Stores the key or the version field after every store before it
    /// (see [`LiveTable::publish`]).
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
    /// let t = weft::console::ring::LiveTable::new(&words);
    /// t.entry(0).publish(0, 3);
    /// assert_eq!(t.read(0).unwrap()[0], 3);
    /// ```
    #[inline(always)]
    pub fn publish(&self, field: usize, v: u64) {
        self.0[1 + field].store(v, Ordering::Release)
    }
}

/// An append-only string store: `[byte length][bytes, padded to words]`
/// records; a string's id is its word offset plus one (0 means none).
/// Appends are serialised by the writer's caller (one lock per file).
///
/// ```
/// use std::sync::atomic::AtomicU64;
/// use weft::console::ring::Arena;
/// let words: Vec<AtomicU64> = (0..65).map(|_| AtomicU64::new(0)).collect();
/// let arena = Arena::new(&words[0], &words[1..]);
/// let id = arena.append("echo.rs").unwrap();
/// assert_eq!(arena.get(id).as_deref(), Some("echo.rs"));
/// ```
#[derive(Clone, Copy)]
pub struct Arena<'a> {
    head: &'a AtomicU64,
    words: &'a [AtomicU64],
}

impl<'a> Arena<'a> {
    /// An arena whose used length (in words) is `head`, over `words`.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..5).map(|_| AtomicU64::new(0)).collect();
    /// let _ = weft::console::ring::Arena::new(&words[0], &words[1..]);
    /// ```
    pub fn new(head: &'a AtomicU64, words: &'a [AtomicU64]) -> Self {
        Arena { head, words }
    }

    /// Stores `s` and returns its id, or `None` when the arena is full.
    /// Callers must not append from two threads at once.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..3).map(|_| AtomicU64::new(0)).collect();
    /// let arena = weft::console::ring::Arena::new(&words[0], &words[1..]);
    /// assert!(arena.append("0123456789abcdef").is_none());
    /// ```
    pub fn append(&self, s: &str) -> Option<u32> {
        let at = self.head.load(Ordering::Relaxed) as usize;
        let need = 1 + s.len().div_ceil(8);
        if at + need > self.words.len() || at + 1 > u32::MAX as usize {
            return None;
        }
        self.words[at].store(s.len() as u64, Ordering::Relaxed);
        for (i, chunk) in s.as_bytes().chunks(8).enumerate() {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.words[at + 1 + i].store(u64::from_le_bytes(b), Ordering::Relaxed);
        }
        self.head.store((at + need) as u64, Ordering::Release);
        Some(at as u32 + 1)
    }

    /// The string with id `id`, if it is published and valid.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..5).map(|_| AtomicU64::new(0)).collect();
    /// let arena = weft::console::ring::Arena::new(&words[0], &words[1..]);
    /// assert_eq!(arena.get(0), None);
    /// assert_eq!(arena.get(1), None);
    /// ```
    pub fn get(&self, id: u32) -> Option<String> {
        let published = self.head.load(Ordering::Acquire) as usize;
        let at = (id as usize).checked_sub(1)?;
        if at >= published {
            return None;
        }
        let len = self.words[at].load(Ordering::Relaxed) as usize;
        let end = at + 1 + len.div_ceil(8);
        if end > published {
            return None;
        }
        let mut bytes = Vec::with_capacity(len);
        for w in &self.words[at + 1..end] {
            bytes.extend_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
        }
        bytes.truncate(len);
        String::from_utf8(bytes).ok()
    }
}
