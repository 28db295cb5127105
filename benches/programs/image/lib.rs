//! Images: resampling a 768×768 RGB picture to 1024×1024 and to 300×300
//! (Catmull-Rom filter), then a 3×3 sharpening filter, with the image crate.
use common::{check, Digest};
use image::{imageops, ImageBuffer, Rgb, RgbImage};

fn picture() -> RgbImage {
    ImageBuffer::from_fn(768, 768, |x, y| {
        let r = ((x * x + y * y) / 97) as u8;
        Rgb([r, (x ^ y) as u8, ((x / 3) + (y / 5)) as u8])
    })
}

common::program!(RgbImage, picture, |img: &RgbImage| {
    let up = imageops::resize(img, 1024, 1024, imageops::FilterType::CatmullRom);
    let down = imageops::resize(img, 300, 300, imageops::FilterType::CatmullRom);
    let blurred = imageops::filter3x3(&down, &[0.0, -1.0, 0.0, -1.0, 5.0, -1.0, 0.0, -1.0, 0.0]);
    check(up.dimensions() == (1024, 1024) && blurred.dimensions() == (300, 300), "sizes");
    let mean = |i: &RgbImage| i.as_raw().iter().map(|&b| b as u64).sum::<u64>() / i.as_raw().len() as u64;
    check(mean(&up).abs_diff(mean(img)) <= 2, "resampling keeps the mean brightness");
    Digest::default().bytes(up.as_raw()).bytes(down.as_raw()).u64(mean(&blurred)).finish()
});
