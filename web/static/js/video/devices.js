// Camera and microphone: permission, the choice of device, and swapping a device mid-call.

export async function openMedia({ cameraId, micId } = {}) {
  const video = cameraId ? { deviceId: { exact: cameraId } } : { width: { ideal: 640 }, height: { ideal: 360 } };
  const audio = micId ? { deviceId: { exact: micId } } : true;
  try {
    return { stream: await navigator.mediaDevices.getUserMedia({ video, audio }), camera: true, microphone: true };
  } catch (error) {
    // One missing device should not stop the session: try each alone.
    const stream = new MediaStream();
    let camera = false, microphone = false;
    try { (await navigator.mediaDevices.getUserMedia({ video })).getTracks().forEach((t) => stream.addTrack(t)); camera = true; } catch {}
    try { (await navigator.mediaDevices.getUserMedia({ audio })).getTracks().forEach((t) => stream.addTrack(t)); microphone = true; } catch {}
    return { stream, camera, microphone, error };
  }
}

export async function fillChoices(cameraSelect, micSelect, stream) {
  const devices = await navigator.mediaDevices.enumerateDevices();
  const current = (kind) => stream.getTracks().find((t) => t.kind === kind)?.getSettings().deviceId;
  for (const [select, kind, label, trackKind] of [[cameraSelect, "videoinput", "Camera", "video"],
                                                  [micSelect, "audioinput", "Microphone", "audio"]]) {
    if (!select) continue;
    select.replaceChildren();
    devices.filter((d) => d.kind === kind).forEach((device, i) => {
      const option = new Option(device.label || `${label} ${i + 1}`, device.deviceId);
      option.selected = device.deviceId === current(trackKind);
      select.append(option);
    });
    select.disabled = select.options.length === 0;
  }
}

export function describe({ camera, microphone }) {
  if (camera && microphone) return "Camera and microphone are working.";
  if (!camera && !microphone) return "The browser could not use a camera or microphone. Allow access in the site settings, then check again.";
  return camera ? "The microphone is not available; the other person will not hear you." :
    "The camera is not available; the other person will hear you but not see you.";
}
