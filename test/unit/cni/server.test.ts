/** The forwarder's wire format (src/cni/server.ts, src/cni/forwarder/podnet-cni.c): bytes built by hand. */
import assert from 'node:assert/strict'
import { decodeRequest, encodeRequest, encodeResponse } from '../../../src/cni/server.js'

describe('cni/server wire format', () => {
  it('a request is "PNC1", the body length, the namespaces, K=V entries, an empty entry, then stdin', () => {
    const r = { net: '4:4026531840', mnt: '4:4026531841', env: { CNI_COMMAND: 'ADD', CNI_ARGS: 'A=1;B=2' }, stdin: Buffer.from('{"x":1}') }
    const body = Buffer.from('net=4:4026531840\0mnt=4:4026531841\0CNI_COMMAND=ADD\0CNI_ARGS=A=1;B=2\0\0{"x":1}', 'latin1')
    const head = Buffer.from([0x50, 0x4e, 0x43, 0x31, body.length, 0, 0, 0])
    assert.deepEqual(encodeRequest(r), Buffer.concat([head, body]))
    assert.deepEqual(decodeRequest(body), r)
    assert.deepEqual(decodeRequest(Buffer.from('net=1:2\0mnt=1:3\0\0')).stdin, Buffer.alloc(0), 'empty stdin')
  })

  it('refuses malformed requests', () => {
    assert.throws(() => decodeRequest(Buffer.from('net=1:2\0')), /unterminated/)
    assert.throws(() => decodeRequest(Buffer.from('CNI_COMMAND=ADD\0\0')), /namespace/)
    assert.throws(() => decodeRequest(Buffer.from('net=1:2\0mnt=1:3\0NOEQUALS\0\0')), /not KEY=VALUE/)
  })

  it('an answer is "PNC1", the status, stdout and stderr, each with its length', () => {
    assert.deepEqual(encodeResponse(1, 'ab', 'c'), Buffer.from([0x50, 0x4e, 0x43, 0x31, 1, 0, 0, 0, 2, 0, 0, 0, 0x61, 0x62, 1, 0, 0, 0, 0x63]))
    assert.deepEqual(encodeResponse(0xffffffff, '', '').subarray(4, 8), Buffer.from([0xff, 0xff, 0xff, 0xff]), '"not served here"')
  })
})
