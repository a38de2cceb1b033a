//! Image checks shared by the live capture tests (X11 and Wayland): how sharp a thumbnail is.

#![allow(dead_code)]

/// Luma of every pixel (BT.601 weights).
pub fn grey(rgb: &image::RgbImage) -> Vec<f64> {
    rgb.pixels()
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .collect()
}

/// Variance of the 4-neighbour Laplacian over the interior of a greyscale image.
pub fn laplacian_variance(g: &[f64], w: usize, h: usize) -> f64 {
    let mut values = Vec::with_capacity(w * h);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let c = g[y * w + x];
            values.push(
                g[y * w + x - 1] + g[y * w + x + 1] + g[(y - 1) * w + x] + g[(y + 1) * w + x]
                    - 4.0 * c,
            );
        }
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n
}
