//! Small numeric kernels shared by the models and the indexes.

/// Dot product of two equally long slices, in eight independent lanes so that the compiler
/// vectorises it. The order of the additions is fixed, so the same input gives the same bits.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks_a = a.chunks_exact(8);
    let chunks_b = b.chunks_exact(8);
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for (lane, (x, y)) in acc.iter_mut().zip(ca.iter().zip(cb)) {
            *lane += x * y;
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_by_hand_across_the_lane_boundary() {
        let a: Vec<f32> = (1..=10).map(|x| x as f32).collect();
        let b = vec![1.0f32; 10];
        assert_eq!(dot(&a, &b), 55.0);
        assert_eq!(dot(&a[..3], &a[..3]), 14.0);
        assert_eq!(dot(&[], &[]), 0.0);
    }
}
