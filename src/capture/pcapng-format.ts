/** pcapng block types and option codes (IETF draft-ietf-opsawg-pcapng), shared by the reader and the writer. */
export const SHB = 0x0a0d0d0a;
export const IDB = 0x00000001;
export const OPB = 0x00000002;
export const SPB = 0x00000003;
export const EPB = 0x00000006;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
export const OPT_END = 0;
export const OPT_COMMENT = 1;
export const OPT_IF_TSRESOL = 9;
export const OPT_IF_TSOFFSET = 14;
