// Writes the 1920×1080 JPEG the preprocessing benchmark uses, scaled up from a test photo.
//   node make-1080p.mjs ../../../shared/images/photos/COCO_val2014_000000027440.jpg /tmp/photo-1080p.jpg
import sharp from 'sharp';

await sharp(process.argv[2]).resize(1920, 1080, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(process.argv[3]);
