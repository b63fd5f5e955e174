/** Which parts of a file a peer holds (pure): a set of part indexes, and its wire form, a bitmap in base64. */

/**
 * The bitmap of BitTorrent's bitfield: bit i, counted from the high bit of byte 0, is part i;
 * the bits past the last part are 0. Base64 (RFC 4648, with padding) of ceil(of / 8) bytes.
 */
export function encodePartMap(have: Iterable<number>, of: number): string {
	const bytes = new Uint8Array(Math.ceil(of / 8));
	for (const index of have) {
		if (Number.isInteger(index) && index >= 0 && index < of) {
			bytes[index >> 3]! |= 0x80 >> (index & 7);
		}
	}

	return Buffer.from(bytes).toString('base64');
}

/** The parts a bitmap names; undefined when it is not the bitmap of `of` parts (wrong length, bits past the end, not base64). */
export function decodePartMap(bitmap: string, of: number): Set<number> | undefined {
	if (typeof bitmap !== 'string' || !/^[A-Za-z\d+/]*={0,2}$/.test(bitmap) || bitmap.length % 4 !== 0) {
		return undefined;
	}

	const bytes = Buffer.from(bitmap, 'base64');
	if (bytes.length !== Math.ceil(of / 8)) {
		return undefined;
	}

	const have = new Set<number>();
	for (let index = 0; index < bytes.length * 8; index++) {
		if ((bytes[index >> 3]! & (0x80 >> (index & 7))) !== 0) {
			if (index >= of) {
				return undefined;
			}

			have.add(index);
		}
	}

	return have;
}
