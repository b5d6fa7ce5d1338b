import rhea from 'rhea';
import { describe, expect, it } from 'vitest';
import { messageIdKey, toDotNetTicks, unpackBatch, uuidFromBytes, uuidToBytes, uuidToDotNetBytes } from '../../../../emulators/servicebus/amqp-envelope.js';
import { parseAddress } from '../../../../emulators/servicebus/broker.js';

describe('lock tokens and .NET ticks', () => {
  it('writes a lock token as the delivery tag in .NET Guid.ToByteArray() order', () => {
    // Act
    const tag = uuidToDotNetBytes('00112233-4455-6677-8899-aabbccddeeff');

    // Assess
    expect(tag.toString('hex')).toBe('33221100554477668899aabbccddeeff');
  });

  it('reads a lock token from a $management request in RFC 4122 order', () => {
    // Act
    const token = uuidFromBytes(uuidToBytes('00112233-4455-6677-8899-aabbccddeeff'));

    // Assess
    expect(token).toBe('00112233-4455-6677-8899-aabbccddeeff');
  });

  it.each([
    { at: '1970-01-01T00:00:00.000Z', ticks: 621_355_968_000_000_000n },
    { at: '2000-01-01T00:00:00.000Z', ticks: 630_822_816_000_000_000n },
    { at: '2030-06-15T12:30:45.123Z', ticks: BigInt(Date.parse('2030-06-15T12:30:45.123Z')) * 10_000n + 621_355_968_000_000_000n },
  ])('encodes $at as .NET ticks for com.microsoft:locked-until-utc', ({ at, ticks }) => {
    // Act
    const bytes = toDotNetTicks(Date.parse(at));

    // Assess
    expect(bytes.readBigInt64BE()).toBe(ticks);
  });
});

describe('message ids for duplicate detection', () => {
  it.each([
    { id: 'step-1', key: 's:step-1' },
    { id: 42, key: 'n:42' },
    { id: Buffer.from('0a0b', 'hex'), key: 'b:0a0b' },
    { id: undefined, key: undefined },
    { id: null, key: undefined },
  ])('keys $id as $key', ({ id, key }) => {
    expect(messageIdKey(id)).toBe(key);
  });

  it('tells a string id from a numeric one with the same digits', () => {
    expect(messageIdKey('42')).not.toBe(messageIdKey(42));
  });
});

describe('batched sends (message format 0x80013700)', () => {
  it('unpacks every encoded message from the data sections, in order', () => {
    // Prepare
    const inner = ['a', 'b', 'c'].map((body) => rhea.message.encode({ body, message_id: `id-${body}` }));
    const envelope = rhea.message.encode({ body: rhea.message.data_sections(inner) });

    // Act
    const messages = unpackBatch(envelope);

    // Assess
    expect(messages.map((m) => [m.body, m.message_id])).toEqual([
      ['a', 'id-a'],
      ['b', 'id-b'],
      ['c', 'id-c'],
    ]);
  });

  it('unpacks a batch of one', () => {
    // Prepare
    const envelope = rhea.message.encode({ body: rhea.message.data_sections([rhea.message.encode({ body: 'only' })]) });

    // Act
    const messages = unpackBatch(envelope);

    // Assess
    expect(messages.map((m) => m.body)).toEqual(['only']);
  });

  it('refuses an envelope whose body is not data sections', () => {
    expect(() => unpackBatch(rhea.message.encode({ body: 'not a batch' }))).toThrow(/data sections/);
  });
});

describe('link addresses', () => {
  it.each([
    { address: '$cbs', parsed: { kind: 'cbs' } },
    { address: 'rotation-steps', parsed: { kind: 'entity', queueName: 'rotation-steps', sub: 'main' } },
    { address: 'rotation-steps/$DeadLetterQueue', parsed: { kind: 'entity', queueName: 'rotation-steps', sub: 'deadLetter' } },
    { address: 'rotation-steps/$management', parsed: { kind: 'management', queueName: 'rotation-steps', sub: 'main' } },
    { address: 'q/$deadletterqueue/$management', parsed: { kind: 'management', queueName: 'q', sub: 'deadLetter' } },
    { address: 'sb://127.0.0.1:5672/q', parsed: { kind: 'entity', queueName: 'q', sub: 'main' } },
    { address: 'q/$Transfer/$DeadLetterQueue', parsed: { kind: 'invalid' } },
    { address: '', parsed: { kind: 'invalid' } },
  ])('reads $address', ({ address, parsed }) => {
    expect(parseAddress(address)).toEqual(parsed);
  });
});
