// Ethernet MAC addresses as lowercase "aa:bb:cc:dd:ee:ff" text.

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function normalizeMac(text: string): string | undefined {
  const lower = text.toLowerCase();
  return MAC.test(lower) ? lower : undefined;
}

export function isMulticast(mac: string): boolean {
  return (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

export function isLocallyAdministered(mac: string): boolean {
  return (Number.parseInt(mac.slice(0, 2), 16) & 2) === 2;
}

export function hex2(value: number): string {
  return value.toString(16).padStart(2, '0');
}
