/**
 * podnet/netlink: the protocol-agnostic netlink layer, for speaking a netlink family podnet has
 * no module for. Declarative message layouts (attrSet, struct) with one encoder and decoder,
 * NetlinkSocket (requests, ACKs, dumps, extended-ack errors), event subscriptions, the Transport
 * seam for tests, and hex helpers for golden files. docs/library.md has an example.
 * Re-exports only.
 */
export {
  KernelTransport, NetlinkSocket, forEachMessage,
  type DumpOptions, type NetlinkRequest, type NlMessage, type OpenOptions, type Transport,
} from './socket.js'
export { NetlinkSubscription, type NlEvent, type SubscribeOptions } from './subscription.js'
export {
  attrPathAt, attrSet, decodeAttrs, decodeMessageBody, decodeStruct, encodeAttrs, encodeMessageBody, encodeStruct, struct,
  type AttrDef, type AttrSet, type AttrValues, type DecodedMessage, type FieldKind, type MessageSchema, type NestArrayAttr,
  type NestAttr, type RawAttr, type ScalarAttr, type ScalarKind, type Struct, type StructAttr, type StructNestAttr,
  type StructNestValue, type StructValues, type SubMessageAttr,
} from './schema.js'
export { NLA_ALIGNTO, Writer, align4 } from './writer.js'
export {
  NETLINK_NETFILTER, NETLINK_ROUTE, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_NOOP,
  NLMSG_OVERRUN, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_ECHO, NLM_F_EXCL, NLM_F_MULTI,
  NLM_F_REPLACE, NLM_F_REQUEST, beginMessage, endMessage, flagNames, type NlMsgHeader,
} from './header.js'
export { hexDiff, hexGroups, parseHex } from './hexdump.js'
