// An independent age and gender judge for generated faces: the AgeGenderNet of the npm
// package @vladmandic/face-api (MIT licence; not facegen's classifier, not trained on its
// data), run on tfjs' pure-JavaScript CPU backend that the package bundles, so nothing but
// Node.js is needed. It reads the whole aligned image as the face (the package's tiny face
// detector misses most 64 px faces; DETECT=1 tries it first), enlarged to the net's 112 px.
//
//   npm pack @vladmandic/face-api@1.7.15 && tar xzf vladmandic-face-api-1.7.15.tgz
//   echo '{"type":"module"}' > package/package.json
//   FACE_API=package node scripts/judge_age_gender.mjs out/faces/*.png > judged.jsonl
//
// One JSON line per image: file, detected, age (years), male (0/1), p_male. A single .txt
// argument lists the PNGs one a line; TILE=64 judges each 64 px tile of a grid.
globalThis.window = globalThis; globalThis.document = { createElement: () => ({ getContext: () => null }) };
const fs = await import('node:fs');
const zlib = await import('node:zlib');
const root = process.env.FACE_API || 'package';
const faceapi = await import(`${(await import('node:path')).resolve(root)}/dist/face-api.esm.js`);
const tf = faceapi.tf;
await tf.setBackend('cpu'); await tf.ready();

function loadNet(net, name) {
  const manifest = JSON.parse(fs.readFileSync(`${root}/model/${name}-weights_manifest.json`));
  const bin = fs.readFileSync(`${root}/model/${name}.bin`);
  const buffer = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  net.loadFromWeightMap(tf.io.decodeWeights(buffer, manifest[0].weights));
}
loadNet(faceapi.nets.tinyFaceDetector, 'tiny_face_detector_model');
loadNet(faceapi.nets.ageGenderNet, 'age_gender_model');

function decodePng(file) {
  const data = fs.readFileSync(file);
  let pos = 8, width = 0, height = 0, colorType = 0, depth = 0; const idat = [];
  while (pos < data.length) {
    const len = data.readUInt32BE(pos); const type = data.toString('ascii', pos + 4, pos + 8);
    const body = data.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') { width = body.readUInt32BE(0); height = body.readUInt32BE(4); depth = body[8]; colorType = body[9];
      if (body[12] !== 0) throw new Error(`${file}: interlaced PNG`); }
    if (type === 'IDAT') idat.push(body);
    pos += 12 + len;
  }
  if (depth !== 8 || (colorType !== 2 && colorType !== 6)) throw new Error(`${file}: not 8-bit RGB(A)`);
  const bpp = colorType === 6 ? 4 : 3, stride = width * bpp;
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; ++y) {
    const f = raw[y * (stride + 1)], src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; ++x) {
      const a = x >= bpp ? out[y * stride + x - bpp] : 0, b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? out[(y - 1) * stride + x - bpp] : 0;
      let v = src[x];
      if (f === 1) v += a; else if (f === 2) v += b; else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) { const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c; }
      out[y * stride + x] = v & 255;
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; ++i) for (let k = 0; k < 3; ++k) rgb[i * 3 + k] = out[i * bpp + k];
  return { width, height, rgb };
}

let files = process.argv.slice(2);
if (files.length === 1 && files[0].endsWith('.txt')) files = fs.readFileSync(files[0], 'utf8').split('\n').filter(Boolean);
const side = process.env.DETECT ? 256 : 112;  // 64 px faces: enlarged for the detector; AgeGenderNet reads 112
const options = new faceapi.TinyFaceDetectorOptions({ inputSize: 224, scoreThreshold: 0.2 });
const tile = +(process.env.TILE || 0);
for (const file of files) {
  const { width, height, rgb } = decodePng(file);
  const whole = tf.tensor3d(rgb, [height, width, 3], 'int32');
  const tiles = tile > 0 ? Math.floor(width / tile) * Math.floor(height / tile) : 1;
  for (let t = 0; t < tiles; ++t) {
  const crop = tile > 0 ? whole.slice([Math.floor(t / Math.floor(width / tile)) * tile, (t % Math.floor(width / tile)) * tile, 0], [tile, tile, 3]) : whole;
  const input = tf.tidy(() => tf.image.resizeBilinear(crop.toFloat(), [side, side]).round().toInt());
  let result = process.env.DETECT ? await faceapi.detectSingleFace(input, options).withAgeAndGender() : null;
  let detected = true;
  if (!result) {  // no detection: the whole (aligned) image as the face
    detected = false;
    result = await faceapi.nets.ageGenderNet.predictAgeAndGender(input);
  }
  input.dispose();
  const pMale = result.gender === 'male' ? result.genderProbability : 1 - result.genderProbability;
  console.log(JSON.stringify({ file, tile: t, detected, age: +result.age.toFixed(2), male: pMale > 0.5 ? 1 : 0, p_male: +pMale.toFixed(4) }));
}
  whole.dispose();
}
