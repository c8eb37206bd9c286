//! Where a connection keeps its bytes and tables.
//!
//! [`Fixed`] puts everything inline with const-generic capacities (no heap);
//! `Growable` (with `alloc`) grows on demand up to the limits in
//! [`Config`](super::Config). Both enforce a limit, so a peer can never make a
//! connection hold unbounded memory.

use crate::Seq;

/// A byte queue: bytes are appended at the back and consumed from the front.
pub trait ByteQueue {
    /// A queue that will hold at most `limit` bytes (a fixed queue may hold
    /// fewer: its capacity is the smaller of the two).
    fn with_limit(limit: usize) -> Self;
    /// The queued bytes, oldest first, as one contiguous slice.
    fn queued(&self) -> &[u8];
    /// Free room at the back: at least `want` bytes if the limit allows,
    /// otherwise as much as there is. Data may be moved to make room.
    fn spare(&mut self, want: usize) -> &mut [u8];
    /// Mark `n` bytes of the slice returned by [`spare`](Self::spare) as queued.
    fn commit(&mut self, n: usize);
    /// Drop `n` bytes from the front.
    fn consume(&mut self, n: usize);
    /// The most bytes this queue can ever hold.
    fn capacity(&self) -> usize;
    /// Number of queued bytes.
    fn len(&self) -> usize {
        self.queued().len()
    }
    /// Whether nothing is queued.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes that can still be queued.
    fn free(&self) -> usize {
        self.capacity().saturating_sub(self.len())
    }
}

/// A table of entries keyed by sequence number.
pub trait SeqTable<T: Keyed> {
    /// A table that will hold at most `limit` entries.
    fn with_limit(limit: usize) -> Self;
    /// All entries, in no particular order.
    fn entries(&self) -> &[T];
    /// Add an entry; gives it back when the table is full.
    fn insert(&mut self, entry: T) -> Result<(), T>;
    /// Remove the entry at `index` (order is not kept).
    fn remove_at(&mut self, index: usize) -> T;
    /// The most entries this table can hold.
    fn capacity(&self) -> usize;
    /// Number of entries.
    fn len(&self) -> usize {
        self.entries().len()
    }
    /// Whether there are no entries.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether another entry would be refused.
    fn is_full(&self) -> bool {
        self.len() >= self.capacity()
    }
    /// Index of the entry for `seq`.
    fn position(&self, seq: Seq) -> Option<usize> {
        self.entries().iter().position(|e| e.seq() == seq)
    }
    /// Remove and return the entry for `seq`.
    fn remove(&mut self, seq: Seq) -> Option<T> {
        let index = self.position(seq)?;
        Some(self.remove_at(index))
    }
}

/// An entry of a [`SeqTable`].
pub trait Keyed: Copy + Default {
    /// The sequence number the entry is keyed by.
    fn seq(&self) -> Seq;
}

/// The four containers a connection needs, chosen together.
pub trait Storage {
    /// Received bytes not yet processed.
    type Recv: ByteQueue;
    /// Encoded frames not yet transmitted.
    type Send: ByteQueue;
    /// Our calls awaiting a reply.
    type Outbound: SeqTable<super::OutboundCall>;
    /// The peer's calls we have not answered yet.
    type Inbound: SeqTable<super::InboundCall>;
}

/// Inline storage, no heap: `RECV` and `SEND` bytes of buffer, `OUT` calls of
/// ours and `IN` calls of the peer's in flight.
///
/// The receive buffer bounds the largest frame this connection accepts.
#[derive(Debug, Clone, Copy)]
pub struct Fixed<const RECV: usize, const SEND: usize, const OUT: usize, const IN: usize>;

impl<const RECV: usize, const SEND: usize, const OUT: usize, const IN: usize> Storage
    for Fixed<RECV, SEND, OUT, IN>
{
    type Recv = ArrayQueue<RECV>;
    type Send = ArrayQueue<SEND>;
    type Outbound = ArrayTable<super::OutboundCall, OUT>;
    type Inbound = ArrayTable<super::InboundCall, IN>;
}

/// A [`ByteQueue`] in an inline array.
#[derive(Debug, Clone)]
pub struct ArrayQueue<const N: usize> {
    data: [u8; N],
    start: usize,
    end: usize,
    limit: usize,
}

impl<const N: usize> ByteQueue for ArrayQueue<N> {
    fn with_limit(limit: usize) -> Self {
        Self {
            data: [0; N],
            start: 0,
            end: 0,
            limit: limit.min(N),
        }
    }

    fn queued(&self) -> &[u8] {
        self.data.get(self.start..self.end).unwrap_or_default()
    }

    fn spare(&mut self, want: usize) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 && self.limit - self.end < want {
            // Slide the queued bytes to the front only when the tail is short.
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let limit = self.limit;
        self.data.get_mut(self.end..limit).unwrap_or_default()
    }

    fn commit(&mut self, n: usize) {
        self.end = (self.end + n).min(self.limit);
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    fn capacity(&self) -> usize {
        self.limit
    }
}

/// A [`SeqTable`] in an inline array.
#[derive(Debug, Clone)]
pub struct ArrayTable<T, const N: usize> {
    items: [T; N],
    len: usize,
    limit: usize,
}

impl<T: Keyed, const N: usize> SeqTable<T> for ArrayTable<T, N> {
    fn with_limit(limit: usize) -> Self {
        Self {
            items: [T::default(); N],
            len: 0,
            limit: limit.min(N),
        }
    }

    fn entries(&self) -> &[T] {
        self.items.get(..self.len).unwrap_or_default()
    }

    fn insert(&mut self, entry: T) -> Result<(), T> {
        if self.len >= self.limit {
            return Err(entry);
        }
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = entry;
                self.len += 1;
                Ok(())
            }
            None => Err(entry),
        }
    }

    fn remove_at(&mut self, index: usize) -> T {
        let last = self.len.saturating_sub(1);
        let entries = self.items.get_mut(..self.len).unwrap_or_default();
        if index >= entries.len() {
            return T::default();
        }
        entries.swap(index, last);
        self.len = last;
        self.items.get(last).copied().unwrap_or_default()
    }

    fn capacity(&self) -> usize {
        self.limit
    }
}

#[cfg(feature = "alloc")]
pub use growable::{Growable, VecQueue};

#[cfg(feature = "alloc")]
mod growable {
    use super::{ByteQueue, Keyed, SeqTable, Storage};
    use alloc::vec::Vec;

    /// Heap storage that grows as needed, up to the configured limits.
    #[derive(Debug, Clone, Copy)]
    pub struct Growable;

    impl Storage for Growable {
        type Recv = VecQueue;
        type Send = VecQueue;
        type Outbound = Vec<super::super::OutboundCall>;
        type Inbound = Vec<super::super::InboundCall>;
    }

    /// A [`ByteQueue`] on a `Vec` that grows up to its limit.
    #[derive(Debug, Clone, Default)]
    pub struct VecQueue {
        /// `data[start..end]` is queued; `data[end..]` is zeroed spare room.
        data: Vec<u8>,
        start: usize,
        end: usize,
        limit: usize,
    }

    /// Grow in steps of at least this much, so small frames do not each
    /// reallocate.
    const STEP: usize = 4096;

    impl ByteQueue for VecQueue {
        fn with_limit(limit: usize) -> Self {
            Self {
                data: Vec::new(),
                start: 0,
                end: 0,
                limit,
            }
        }

        fn queued(&self) -> &[u8] {
            self.data.get(self.start..self.end).unwrap_or_default()
        }

        fn spare(&mut self, want: usize) -> &mut [u8] {
            if self.start > 0 && (self.start == self.end || self.data.len() - self.end < want) {
                self.data.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let room = self.limit.saturating_sub(self.end - self.start);
            let want = want.min(room);
            if self.data.len() - self.end < want {
                let grow_to = (self.end + want.max(STEP)).min(self.start + self.limit);
                self.data.resize(grow_to.max(self.end + want), 0);
            }
            let max_end = (self.start + self.limit).min(self.data.len());
            self.data.get_mut(self.end..max_end).unwrap_or_default()
        }

        fn commit(&mut self, n: usize) {
            self.end = (self.end + n).min(self.data.len());
        }

        fn consume(&mut self, n: usize) {
            self.start = (self.start + n).min(self.end);
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            }
        }

        fn capacity(&self) -> usize {
            self.limit
        }
    }

    impl<T: Keyed> SeqTable<T> for Vec<T> {
        fn with_limit(_limit: usize) -> Self {
            Self::new()
        }
        fn entries(&self) -> &[T] {
            self
        }
        fn insert(&mut self, entry: T) -> Result<(), T> {
            self.push(entry);
            Ok(())
        }
        fn remove_at(&mut self, index: usize) -> T {
            if index < self.len() {
                self.swap_remove(index)
            } else {
                T::default()
            }
        }
        fn capacity(&self) -> usize {
            usize::MAX
        }
    }
}
