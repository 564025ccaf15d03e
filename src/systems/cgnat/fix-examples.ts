// How to write each mapping or list of a CGNAT spec, by where it is ("*" a name, "[]" a list
// item): the fix line of a problem there (src/input/issues.ts). One line each.
export const CGNAT_EXAMPLES: Readonly<Record<string, string>> = {
  'uplink.addresses': 'addresses: [198.51.100.2/24]',
  'uplink.gateways': 'gateways: [198.51.100.1]',
  nat: 'nat: { pool: [203.0.113.10] }',
  'nat.pool': 'pool: [203.0.113.10, 203.0.113.16/28]',
  tenants:
    'tenants: { acme: { bridge: br-acme, gateways: [100.64.3.254/22], subscribers: [100.64.0.0/22] } }',
  'tenants.*': 'acme: { bridge: br-acme, gateways: [100.64.3.254/22], subscribers: [100.64.0.0/22] }',
  'tenants.*.gateways': 'gateways: [100.64.3.254/22, "2001:db8:1::1/64"]',
  'tenants.*.subscribers': 'subscribers: [100.64.0.0/22]',
  'tenants.*.routes': 'routes: [{ to: 192.0.2.2/32, client: acme_c1 }]',
  'tenants.*.routes[]': '- { to: 192.0.2.2/32, client: acme_c1 }',
  'tenants.*.clients': 'clients: { acme_c1: { addresses: [100.64.0.10] } }',
  'tenants.*.clients.*': 'acme_c1: { addresses: [100.64.0.10] }',
  'tenants.*.clients.*.addresses': 'addresses: [100.64.0.10, "2001:db8:1::10"]',
  peer: 'peer: { addresses: [198.51.100.1/24] }',
  'peer.addresses': 'addresses: [198.51.100.1/24, 192.0.2.1/32]',
  'checks[].inbound': 'inbound: { from: inet }',
  uplink: 'uplink: { interface: wan, addresses: [198.51.100.2/24], gateways: [198.51.100.1] }',
  checks: 'checks: [{ name: c1 pings, from: acme_c1, to: 192.0.2.1, proto: ping }]',
  'checks[]': '- { name: c1 pings, from: acme_c1, to: 192.0.2.1, proto: ping }',
  'checks[].expect': 'expect: { reaches: false }',
  'checks[].from': 'from: acme_c1 (or several: [acme_c1, globex_c1])',
  'checks[].to': 'to: 192.0.2.1 (or several for nat: mapping: [192.0.2.1, 192.0.2.3])',
};
