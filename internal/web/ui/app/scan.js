// Scanning the number's QR code with the phone's camera: the browser's
// BarcodeDetector where it reads QR codes, otherwise the vendored decoder
// (vendor/qr, a pure JavaScript QR reader) on frames drawn to a canvas.
// Without a camera the number is typed.

const FRAME_EVERY = 150; // ms between two looks at the camera
const MAX_SIDE = 720; // frames are scaled down to this for decoding

// canScan reports whether this browser may offer a camera at all.
export function canScan() {
  return Boolean(window.isSecureContext && navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

// decodeImage reads the QR code in an ImageData-like {width, height, data}
// with the vendored decoder; it returns the text, or "" when none is found.
export async function decodeImage(img) {
  const { decodeQR } = await import("./vendor/qr/decode.js");
  try {
    return decodeQR({ width: img.width, height: img.height, data: img.data });
  } catch {
    return "";
  }
}

// frameReader returns a function that reads the QR codes in the video's
// current frame, as a list of texts.
async function frameReader() {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return async (video) => (await detector.detect(video)).map((b) => b.rawValue);
      }
    } catch {
      // Fall back to the decoder below.
    }
  }
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  return async (video) => {
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (!w || !h) return [];
    const scale = Math.min(1, MAX_SIDE / Math.max(w, h));
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    const text = await decodeImage(ctx.getImageData(0, 0, canvas.width, canvas.height));
    return text ? [text] : [];
  };
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

// scanQR shows the back camera in video and resolves with the first QR
// text that accept returns a value other than null for (that value), or
// null once signal aborts. onReject is told of QR codes accept refused.
// The camera is released in every case. It rejects when there is no
// camera or the person refuses it.
export async function scanQR(video, accept, signal, onReject) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: false, video: { facingMode: { ideal: "environment" } } });
  try {
    video.muted = true;
    video.playsInline = true;
    video.srcObject = stream;
    await video.play();
    const read = await frameReader();
    while (!signal.aborted) {
      if (video.readyState >= 2) {
        for (const text of await read(video)) {
          const v = accept(text);
          if (v !== null) return v;
          if (onReject) onReject(text);
        }
      }
      await sleep(FRAME_EVERY, signal);
    }
    return null;
  } finally {
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  }
}
