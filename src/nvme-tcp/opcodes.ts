/** Opcode names follow nvme-cli / the NVMe base and NVM command set specifications. */
export const ADMIN_OPCODES: Record<number, string> = {
  0x00: 'Delete I/O SQ', 0x01: 'Create I/O SQ', 0x02: 'Get Log Page', 0x04: 'Delete I/O CQ', 0x05: 'Create I/O CQ',
  0x06: 'Identify', 0x08: 'Abort', 0x09: 'Set Features', 0x0a: 'Get Features', 0x0c: 'Asynchronous Event Request',
  0x0d: 'Namespace Management', 0x10: 'Firmware Commit', 0x11: 'Firmware Image Download', 0x14: 'Device Self-test',
  0x15: 'Namespace Attachment', 0x18: 'Keep Alive', 0x19: 'Directive Send', 0x1a: 'Directive Receive',
  0x1c: 'Virtualization Management', 0x1d: 'NVMe-MI Send', 0x1e: 'NVMe-MI Receive', 0x20: 'Capacity Management',
  0x24: 'Lockdown', 0x38: 'Cross-Controller Reset', 0x7c: 'Doorbell Buffer Config', 0x7f: 'Fabrics', 0x80: 'Format NVM', 0x81: 'Security Send',
  0x82: 'Security Receive', 0x84: 'Sanitize', 0x86: 'Get LBA Status',
};

export const IO_OPCODES: Record<number, string> = {
  0x00: 'Flush', 0x01: 'Write', 0x02: 'Read', 0x04: 'Write Uncorrectable', 0x05: 'Compare', 0x08: 'Write Zeroes',
  0x09: 'Dataset Management', 0x0c: 'Verify', 0x0d: 'Reservation Register', 0x0e: 'Reservation Report',
  0x11: 'Reservation Acquire', 0x15: 'Reservation Release', 0x19: 'Copy', 0x79: 'Zone Management Send',
  0x7a: 'Zone Management Receive', 0x7d: 'Zone Append', 0x7f: 'Fabrics',
};

export const FABRICS_TYPES: Record<number, string> = {
  0x00: 'Property Set', 0x01: 'Connect', 0x04: 'Property Get', 0x05: 'Authentication Send', 0x06: 'Authentication Receive',
  0x08: 'Disconnect',
};

export const FABRICS_OPCODE = 0x7f;
export const ADMIN_KEEP_ALIVE = 0x18;
export const ADMIN_IDENTIFY = 0x06;
/**
 * Cross-Controller Reset (NVMe TP8028, base specification 2.3, Figure 522): CDW10 bits 15:0 the
 * impacted controller's ID (ICID), bits 23:16 its Controller Instance Uniquifier (CIU); CDW12/CDW13
 * its Controller Instance Random Number (CIRN, low and high). Completion DW0 bit 0: the impacted
 * controller was reset before the command completed (IRS); clear, the reset finishes later and is
 * reported through the CCR log page.
 */
export const ADMIN_CROSS_CONTROLLER_RESET = 0x38;
export const FCTYPE_PROPERTY_SET = 0x00;
export const FCTYPE_CONNECT = 0x01;
export const FCTYPE_PROPERTY_GET = 0x04;
/** Controller Configuration register offset. */
export const PROPERTY_CC = 0x14;

/**
 * I/O opcodes that change data on the namespace: a retry of one of these can
 * overwrite newer data, so the retry verdict is an error for them.
 */
const DATA_CHANGING_IO = new Set([0x01, 0x04, 0x08, 0x09, 0x0d, 0x11, 0x15, 0x19, 0x79, 0x7d]);

export function isDataChanging(opcode: number, isAdmin: boolean): boolean {
  return !isAdmin && DATA_CHANGING_IO.has(opcode);
}

/** I/O commands that carry an SLBA/NLB range in CDW10–12. */
const LBA_IO = new Set([0x01, 0x02, 0x04, 0x05, 0x08, 0x0c, 0x7d]);

export function hasLbaRange(opcode: number): boolean {
  return LBA_IO.has(opcode);
}

/** Name of an opcode, which depends on the queue: admin (qid 0) or I/O. `isAdmin` undefined = not known. */
export function opcodeName(opcode: number, isAdmin: boolean | undefined, fctype?: number): string {
  if (opcode === FABRICS_OPCODE) return FABRICS_TYPES[fctype ?? -1] ?? `Fabrics 0x${(fctype ?? 0).toString(16).padStart(2, '0')}`;
  const table = isAdmin === false ? IO_OPCODES : isAdmin === true ? ADMIN_OPCODES : undefined;
  const name = table ? table[opcode] : IO_OPCODES[opcode] ?? ADMIN_OPCODES[opcode];
  return name ?? `${isAdmin ? 'Admin' : 'I/O'} 0x${opcode.toString(16).padStart(2, '0')}`;
}

/** Status code names for the generic command status type (SCT 0) and a few others nvme-cli prints often. */
const GENERIC_STATUS: Record<number, string> = {
  0x00: 'Successful Completion', 0x01: 'Invalid Command Opcode', 0x02: 'Invalid Field in Command', 0x03: 'Command ID Conflict',
  0x04: 'Data Transfer Error', 0x05: 'Commands Aborted due to Power Loss Notification', 0x06: 'Internal Error',
  0x07: 'Command Abort Requested', 0x08: 'Command Aborted due to SQ Deletion', 0x0b: 'Invalid Namespace or Format',
  0x0d: 'Invalid SGL Segment Descriptor', 0x15: 'Operation Denied', 0x80: 'LBA Out of Range', 0x81: 'Capacity Exceeded',
  0x82: 'Namespace Not Ready', 0x83: 'Reservation Conflict',
};
/** Command specific (SCT 1) codes of the Cross-Controller Reset command: base specification 2.3, Figure 103. */
const COMMAND_SPECIFIC_STATUS: Record<number, string> = {
  0x3f: 'Cross-Controller Reset in Progress', 0x40: 'Cross-Controller Reset Log Page Full', 0x41: 'Cross-Controller Reset Limit Exceeded',
};
const PATH_STATUS: Record<number, string> = {
  0x00: 'Internal Path Error', 0x01: 'Asymmetric Access Persistent Loss', 0x02: 'Asymmetric Access Inaccessible',
  0x03: 'Asymmetric Access Transition', 0x60: 'Controller Pathing Error', 0x70: 'Host Pathing Error',
  0x71: 'Command Aborted By Host',
};

export function statusName(sct: number, sc: number): string {
  const name = sct === 0 ? GENERIC_STATUS[sc] : sct === 1 ? COMMAND_SPECIFIC_STATUS[sc] : sct === 3 ? PATH_STATUS[sc] : undefined;
  return name ?? `SCT ${sct} SC 0x${sc.toString(16).padStart(2, '0')}`;
}
