//! A global allocator for the binaries that train and fit: transparent huge pages on large
//! buffers, and freed large buffers kept for the next step.
//!
//! EASE's fit allocates several dense `n x n` item matrices (Gram, factor, inverse, weights):
//! 400 MB each at 10,000 items, freed and allocated again for every subset that data
//! valuation refits. With 4 KiB pages each buffer costs about 100,000 page faults, and the
//! factorisation's matrix products miss the TLB. Most kernels only give huge pages to memory
//! that asks (`/sys/kernel/mm/transparent_hugepage/enabled` = `madvise`), so this allocator
//! asks, for allocations of 32 MiB and more. Measured on the 2-core box: exact group Shapley of
//! the 1M-event simulated shop's three sources (10,000 items) went from 87.4 s to 69.0 s.
//! Training frees and allocates the same large gradients every step; see
//! [`HugePageAlloc::keep_freed_memory`].
//!
//! Everything else is the system allocator's; on other systems it is the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The system allocator, plus `madvise(MADV_HUGEPAGE)` on allocations of 32 MiB or more.
/// Install it in a binary with `#[global_allocator]`.
pub struct HugePageAlloc;

/// glibc serves anything this large with a fresh `mmap` and unmaps it on free, so every such
/// buffer faults in all its pages again; smaller blocks come from the heap and are reused.
const THRESHOLD: usize = 32 << 20;

#[cfg(target_os = "linux")]
fn advise(ptr: *mut u8, size: usize) {
    const HUGE_PAGE: usize = 2 << 20;
    if ptr.is_null() || size < THRESHOLD {
        return;
    }
    // Only whole huge pages inside the block: the advice must not touch a neighbour's memory.
    let start = (ptr as usize).div_ceil(HUGE_PAGE) * HUGE_PAGE;
    let end = (ptr as usize + size) / HUGE_PAGE * HUGE_PAGE;
    if end > start {
        // SAFETY: [start, end) lies inside the block the system allocator just returned, which
        // the caller owns; the advice changes how pages are backed, never their contents. A
        // failure (a kernel without THP) leaves ordinary pages, so the result is ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_: *mut u8, _: usize) {}

/// Whether freed blocks of [`THRESHOLD`] and more are kept for reuse
/// ([`HugePageAlloc::keep_freed_memory`]).
static KEEP_LARGE: AtomicBool = AtomicBool::new(false);

/// At most this many bytes of freed large blocks are held.
const HOLD_AT_MOST: usize = 1 << 30;

/// Freed large blocks, for the next allocation of about their size: a training loop frees and
/// allocates the same gradient and activation buffers every step (the word-embedding gradient
/// of MiniLM alone is 47 MB), and glibc would unmap each and map it afresh, clearing and
/// faulting in every page again. A fixed array: the allocator must not allocate for itself.
struct LargeBlocks {
    /// Address, size and alignment of each held block; size 0 marks a free slot.
    slots: [(usize, usize, usize); 16],
    /// The slot to give up next when all are taken.
    next_out: usize,
}

static LARGE: Mutex<LargeBlocks> = Mutex::new(LargeBlocks {
    slots: [(0, 0, 0); 16],
    next_out: 0,
});

fn large_blocks() -> std::sync::MutexGuard<'static, LargeBlocks> {
    LARGE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A held block for `layout`, when large blocks are kept and one fits.
fn held_block(layout: Layout) -> Option<*mut u8> {
    if layout.size() >= THRESHOLD && KEEP_LARGE.load(Ordering::Relaxed) {
        large_blocks().take(layout)
    } else {
        None
    }
}

impl LargeBlocks {
    /// Bytes held.
    fn held(&self) -> usize {
        self.slots.iter().map(|s| s.1).sum()
    }

    /// A held block of at least `layout`'s size (and at most an eighth more) and its alignment.
    fn take(&mut self, layout: Layout) -> Option<*mut u8> {
        let size = layout.size();
        let fits = |&(_, s, a): &(usize, usize, usize)| {
            s != 0 && a == layout.align() && s >= size && s - size <= size / 8
        };
        let (i, &(ptr, _, _)) = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| fits(slot))
            .min_by_key(|(_, slot)| slot.1)?;
        self.slots[i] = (0, 0, 0);
        Some(ptr as *mut u8)
    }

    /// Holds the freed block `ptr`, giving the oldest held blocks back to the system when
    /// every slot is taken or the budget would be exceeded. A block over the whole budget is
    /// given back at once.
    fn hold(&mut self, ptr: *mut u8, layout: Layout) {
        let give_back = |p: usize, s: usize, a: usize| {
            // SAFETY: a held block came from `System` and was freed with this valid layout.
            unsafe { System.dealloc(p as *mut u8, Layout::from_size_align_unchecked(s, a)) }
        };
        if layout.size() > HOLD_AT_MOST {
            give_back(ptr as usize, layout.size(), layout.align());
            return;
        }
        while self.held() + layout.size() > HOLD_AT_MOST || self.slots.iter().all(|s| s.1 != 0) {
            let i = self.next_out;
            self.next_out = (i + 1) % self.slots.len();
            let (p, s, a) = std::mem::take(&mut self.slots[i]);
            if s != 0 {
                give_back(p, s, a);
            }
        }
        if let Some(slot) = self.slots.iter_mut().find(|s| s.1 == 0) {
            *slot = (ptr as usize, layout.size(), layout.align());
        }
    }
}

impl HugePageAlloc {
    /// Keeps freed blocks under 32 MiB in the heap for reuse. glibc's default serves blocks
    /// from 128 KiB up with a fresh `mmap` (raising that bound only slowly), so a training loop
    /// that allocates and frees the same activation tensors every step faults all their pages in
    /// again: fine-tuning MiniLM spent a third of its CPU time in the kernel. Measured on the
    /// 2-core box, one epoch of 15 steps: 84 s of system time and 7.5M page faults before,
    /// 15 s and 0.45M with the heap kept. Call once, first thing in `main`.
    ///
    /// Blocks of 32 MiB and more, which glibc always unmaps, are kept by this allocator instead
    /// (up to 1 GiB in all) and handed out again for a request of about their size.
    pub fn keep_freed_memory() {
        KEEP_LARGE.store(true, Ordering::Relaxed);
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes glibc's allocation thresholds; called before other
        // threads start. A refused setting (return 0) leaves glibc's defaults, which are correct.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD as libc::c_int);
            libc::mallopt(libc::M_TRIM_THRESHOLD, (512 << 20) as libc::c_int);
            // The heaps of the worker threads' arenas are 64 MiB mappings that glibc unmaps
            // as soon as one is empty, whatever the trim threshold, unless the top padding is
            // larger than a heap: without this, every training step mapped and faulted in
            // about 700 MB afresh (MiniLM, batch 32; 18.7 pairs/s before, 21 after).
            libc::mallopt(libc::M_TOP_PAD, (256 << 20) as libc::c_int);
        }
    }
}

impl HugePageAlloc {
    /// The settings of a long-running service instead of [`HugePageAlloc::keep_freed_memory`]:
    /// glibc's own thresholds, so that the memory a background refit frees goes back to the
    /// system, and at most two heaps (arenas), since every request thread would otherwise get
    /// its own and hold its freed blocks apart from the others'. A service's memory should
    /// stay flat under steady traffic more than its refits should run fast. Call once, first
    /// thing in `main`, before any thread starts.
    pub fn settle_for_a_service() {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes glibc's allocation settings; called before other threads
        // start. A refused setting (return 0) leaves glibc's defaults, which are correct.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

impl HugePageAlloc {
    /// Hands the memory glibc holds freed back to the system: after a service's background
    /// refit, whose working copies would otherwise stay in the process's footprint for good
    /// (measured: the resident size stayed flat between refits and rose by 30 MB and 13 MB at
    /// the first two). A no-op on other systems.
    pub fn give_back_freed_memory() {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only releases free pages of glibc's heaps; no block in use moves.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

// SAFETY: every call is forwarded to `System` with the caller's arguments; `advise` only adds
// a hint about the returned block's backing.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(ptr) = held_block(layout) {
            return ptr;
        }
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        let ptr = unsafe { System.alloc(layout) };
        advise(ptr, layout.size());
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if let Some(ptr) = held_block(layout) {
            // SAFETY: the held block has at least `layout.size()` writable bytes.
            unsafe { ptr.write_bytes(0, layout.size()) };
            return ptr;
        }
        // SAFETY: as `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        advise(ptr, layout.size());
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= THRESHOLD && KEEP_LARGE.load(Ordering::Relaxed) {
            large_blocks().hold(ptr, layout);
            return;
        }
        // SAFETY: `ptr` came from `System` (directly, or held and handed out again; glibc's
        // `free` reads the block's true size from the block itself), with a layout of at most
        // its size and the alignment it was allocated with.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`; the caller upholds `realloc`'s contract.
        let ptr = unsafe { System.realloc(ptr, layout, new_size) };
        advise(ptr, new_size);
        ptr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_large_block_is_handed_out_again_and_zeroed_on_request() {
        HugePageAlloc::keep_freed_memory();
        let layout = Layout::from_size_align(THRESHOLD + 4096, 64).unwrap();
        let smaller = Layout::from_size_align(THRESHOLD + 1024, 64).unwrap();
        // SAFETY: non-zero sizes; every block is freed with a layout no larger than its own.
        unsafe {
            let first = HugePageAlloc.alloc(layout);
            assert!(!first.is_null());
            first.write_bytes(9, layout.size());
            HugePageAlloc.dealloc(first, layout);
            // Another test may take the held block first; when it comes back it is zeroed.
            let again = HugePageAlloc.alloc_zeroed(smaller);
            assert!(!again.is_null() && (again as usize).is_multiple_of(64));
            assert!(std::slice::from_raw_parts(again, smaller.size())
                .iter()
                .all(|&b| b == 0));
            HugePageAlloc.dealloc(again, smaller);
        }
        // A request far from any held size is not served by a held block.
        let mut blocks = LargeBlocks {
            slots: [(0, 0, 0); 16],
            next_out: 0,
        };
        blocks.slots[0] = (4096, THRESHOLD, 64);
        let big = Layout::from_size_align(2 * THRESHOLD, 64).unwrap();
        let odd = Layout::from_size_align(THRESHOLD - 100, 128).unwrap();
        let close = Layout::from_size_align(THRESHOLD - 100, 64).unwrap();
        assert!(blocks.take(big).is_none());
        assert!(blocks.take(odd).is_none(), "alignment must match");
        assert_eq!(blocks.take(close), Some(4096 as *mut u8));
        assert_eq!(blocks.held(), 0);
    }

    #[test]
    fn blocks_round_trip_with_their_contents() {
        for size in [8usize, THRESHOLD - 1, THRESHOLD, 3 * THRESHOLD + 12_345] {
            let layout = Layout::from_size_align(size, 64).unwrap();
            // SAFETY: non-zero size; every block is freed with its own layout.
            unsafe {
                let zeroed = HugePageAlloc.alloc_zeroed(layout);
                assert!(!zeroed.is_null());
                assert!(std::slice::from_raw_parts(zeroed, size)
                    .iter()
                    .all(|&b| b == 0));
                zeroed.write_bytes(7, size);
                let grown = HugePageAlloc.realloc(zeroed, layout, size * 2);
                assert!(!grown.is_null() && (grown as usize).is_multiple_of(64));
                assert!(std::slice::from_raw_parts(grown, size)
                    .iter()
                    .all(|&b| b == 7));
                HugePageAlloc.dealloc(grown, Layout::from_size_align(size * 2, 64).unwrap());
            }
        }
    }
}
