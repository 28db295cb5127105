//! Images: PNG encoding (adaptive filters, zlib) and decoding of a
//! 512×512 RGBA picture.
use common::{check, digest};

const W: u32 = 512;
const H: u32 = 512;

fn picture() -> Vec<u8> {
    let mut rng = common::Rng::new(17);
    let mut px = Vec::with_capacity((W * H * 4) as usize);
    for y in 0..H {
        for x in 0..W {
            let noise = rng.below(16) as u32;
            px.extend_from_slice(&[(x ^ y) as u8, (x * 3 + noise) as u8, (y / 2 + noise) as u8, 255]);
        }
    }
    px
}

common::program!(Vec<u8>, picture, |px: &Vec<u8>| {
    let mut file = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut file, W, H);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_filter(png::Filter::Adaptive);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(px).unwrap();
    }
    let mut dec = png::Decoder::new(std::io::Cursor::new(&file[..])).read_info().unwrap();
    let mut out = vec![0; dec.output_buffer_size().unwrap()];
    let info = dec.next_frame(&mut out).unwrap();
    check((info.width, info.height) == (W, H), "size kept");
    check(out[..info.buffer_size()] == px[..], "decode(encode(x)) == x");
    digest(&file)
});
