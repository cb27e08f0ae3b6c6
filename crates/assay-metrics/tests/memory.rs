//! What scoring an audience holds in memory: a counting allocator records the peak of live
//! bytes while 20,000 users are ranked over 200,000 items.
//!
//! One test in this binary: the allocator's counters are process-wide.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use assay_metrics::{evaluate_audience, AudienceUser};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the counters only
// observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[test]
fn evaluating_an_audience_holds_one_exposure_count_not_one_per_chunk() {
    const ITEMS: u32 = 200_000;
    let audience: Vec<AudienceUser> = (0..20_000u32)
        .map(|u| AudienceUser {
            user: u,
            relevant: vec![u % ITEMS],
            exclude: Vec::new(),
        })
        .collect();
    // Like a top-K of all scores, the list comes in a vector with room for every item.
    let rank = |_: &mut (), user: &AudienceUser, k: usize| -> Vec<u32> {
        let mut top = Vec::with_capacity(ITEMS as usize);
        top.extend((0..k as u32).map(|i| (user.user * 7 + i) % ITEMS));
        top
    };
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let (ranking, exposure) = evaluate_audience(&audience, &[10], ITEMS as usize, || (), rank);
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert_eq!(ranking.users(), 20_000);
    assert_eq!(exposure.counts().iter().sum::<u64>(), 200_000);
    // One 200,000-item count (1.6 MB) and the lists (20,000 x 10 items); a count per chunk of
    // 16 users would be 1,250 of them, 2 GB, and lists kept with their vectors' room 16 GB.
    assert!(peak < 16 << 20, "peak {peak} bytes");
}
