/**
 * The profile editor's site-network parts: Enterprise (802.1X) sign-in and static IPv4. Secrets and
 * certificates are typed, pasted or picked here and sent once; what the station holds is shown as
 * "set", never read back. Problems come from the shared schemas (profile-form.ts), inline.
 */
import type { ReactNode } from 'react';
import {
  Button,
  FieldError,
  FileTrigger,
  Input,
  Label,
  ListBox,
  ListBoxItem,
  Popover,
  Select,
  SelectValue,
  Text,
  TextArea,
  TextField,
} from 'react-aria-components';
import { EAP_METHODS, PHASE2_OF, type EapMethod, type EapPhase2 } from '../../../shared/protocol/eap';
import type { ProfileEap } from '../../../shared/station-api';
import { Check } from '../components/Controls';
import { Icon } from '../components/Icon';
import { Alert } from '../components/States';
import { StatusText } from '../components/Status';
import type { EapDraft, EapField, Ipv4Draft } from '../profile-form';

const METHOD_LABELS: Record<EapMethod, string> = {
  peap: 'PEAP (user name and password)',
  ttls: 'TTLS (user name and password)',
  tls: 'TLS (client certificate)',
};
const PHASE2_LABELS: Record<EapPhase2, string> = { mschapv2: 'MSCHAPv2', pap: 'PAP' };

function Choice<K extends string>({
  label,
  value,
  options,
  labels,
  onChange,
}: {
  label: string;
  value: K;
  options: readonly K[];
  labels: Record<K, string>;
  onChange: (k: K) => void;
}) {
  return (
    <Select
      className="field field-grow"
      value={value}
      onChange={(k) => {
        const found = options.find((o) => o === k);
        if (found !== undefined) onChange(found);
      }}
    >
      <Label>{label}</Label>
      <Button className="input select-button">
        <SelectValue />
        <Icon name="chevron-down" />
      </Button>
      <Popover className="popover">
        <ListBox className="listbox">
          {options.map((o) => (
            <ListBoxItem key={o} id={o} className="option">
              {labels[o]}
            </ListBoxItem>
          ))}
        </ListBox>
      </Popover>
    </Select>
  );
}

function Line({
  label,
  value,
  onChange,
  problem,
  help,
  secret,
  placeholder,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  problem?: string | undefined;
  help?: ReactNode;
  secret?: boolean;
  placeholder?: string;
}) {
  return (
    <TextField
      className="field field-grow"
      type={secret === true ? 'password' : 'text'}
      value={value}
      onChange={onChange}
      isInvalid={problem !== undefined}
      {...(secret === true ? { autoComplete: 'new-password' } : {})}
    >
      <Label>{label}</Label>
      <Input className="input" spellCheck="false" {...(placeholder !== undefined ? { placeholder } : {})} />
      {help !== undefined && (
        <Text slot="description" className="field-help">
          {help}
        </Text>
      )}
      <FieldError className="field-error">{problem}</FieldError>
    </TextField>
  );
}

/** PEM pasted, or read from a picked file; `held` says the station has one (blank keeps it). */
function PemField({
  label,
  value,
  onChange,
  problem,
  held,
  secret,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  problem?: string | undefined;
  held: boolean;
  secret?: boolean;
}) {
  return (
    <div className="pem-field">
      <TextField className="field" value={value} onChange={onChange} isInvalid={problem !== undefined}>
        <Label>{label}</Label>
        <TextArea
          className="input input-mono pem-text"
          rows={value === '' ? 2 : 5}
          spellCheck="false"
          placeholder={
            held ? 'Set. Paste or pick another to replace it.' : '-----BEGIN …----- (paste, or pick a file)'
          }
        />
        <FieldError className="field-error">{problem}</FieldError>
      </TextField>
      <div className="pem-actions">
        <FileTrigger
          acceptedFileTypes={['.pem', '.crt', '.cer', '.key', 'text/plain', 'application/x-pem-file']}
          onSelect={(files) => {
            const f = files?.[0];
            if (f) void f.text().then(onChange);
          }}
        >
          <Button className="btn btn-s">
            <Icon name="upload" /> Pick a file…
          </Button>
        </FileTrigger>
        {held && value === '' && (
          <StatusText tone="success" icon="key">
            {secret === true ? 'Held by the station' : 'Set'}
          </StatusText>
        )}
        {value !== '' && (
          <Button className="btn btn-s" onPress={() => onChange('')}>
            {held ? 'Keep the one set' : 'Clear'}
          </Button>
        )}
      </div>
    </div>
  );
}

export function EnterpriseFields({
  draft,
  held,
  passwordHeld,
  problems,
  onChange,
}: {
  draft: EapDraft;
  /** The saved profile's view, for what "set" means (same method only). */
  held: ProfileEap | undefined;
  passwordHeld: boolean;
  /** Shown once the technician tried to save. */
  problems: Partial<Record<EapField, string>>;
  onChange: (patch: Partial<EapDraft>) => void;
}) {
  const same = held?.method === draft.method ? held : undefined;
  return (
    <fieldset className="fieldset">
      <legend className="section-heading">Enterprise sign-in (802.1X)</legend>
      <div className="field-row">
        <Choice
          label="EAP method"
          value={draft.method}
          options={EAP_METHODS}
          labels={METHOD_LABELS}
          onChange={(method) => onChange({ method })}
        />
        {draft.method !== 'tls' && (
          <Choice
            label="Inner method"
            value={PHASE2_OF[draft.method].includes(draft.phase2) ? draft.phase2 : 'mschapv2'}
            options={PHASE2_OF[draft.method]}
            labels={PHASE2_LABELS}
            onChange={(phase2) => onChange({ phase2 })}
          />
        )}
      </div>
      <div className="field-row">
        <Line
          label="Identity"
          value={draft.identity}
          onChange={(identity) => onChange({ identity })}
          problem={problems.identity}
          placeholder="e.g. svc-sensors@example.org"
        />
        <Line
          label="Anonymous identity (optional)"
          value={draft.anonymousIdentity}
          onChange={(anonymousIdentity) => onChange({ anonymousIdentity })}
          problem={problems.anonymousIdentity}
          placeholder="e.g. anonymous@example.org"
        />
      </div>
      {draft.method !== 'tls' && (
        <Line
          label={same && passwordHeld ? 'Password (held; type to replace)' : 'Password'}
          value={draft.password}
          onChange={(password) => onChange({ password })}
          problem={problems.password}
          secret
          help="Sent to the station once and never shown again."
        />
      )}
      {draft.method === 'tls' && (
        <>
          <PemField
            label="Client certificate (PEM)"
            value={draft.clientCert}
            onChange={(clientCert) => onChange({ clientCert })}
            problem={problems.clientCert}
            held={same?.clientCertSet === true}
          />
          <PemField
            label="Client private key (PEM)"
            value={draft.clientKey}
            onChange={(clientKey) => onChange({ clientKey })}
            problem={problems.clientKey}
            held={same?.clientKeySet === true}
            secret
          />
          <Line
            label={
              same?.clientKeyPassphraseSet === true
                ? 'Key passphrase (held; type to replace)'
                : 'Key passphrase (encrypted keys only)'
            }
            value={draft.clientKeyPassphrase}
            onChange={(clientKeyPassphrase) => onChange({ clientKeyPassphrase })}
            problem={problems.clientKeyPassphrase}
            secret
          />
        </>
      )}
      {!draft.noCa && (
        <>
          <PemField
            label="CA certificate of the network's server (PEM)"
            value={draft.caCert}
            onChange={(caCert) => onChange({ caCert })}
            problem={problems.caCert}
            held={same?.caCertSet === true}
          />
          <Line
            label="Server domain (optional)"
            value={draft.domainMatch}
            onChange={(domainMatch) => onChange({ domainMatch })}
            placeholder="e.g. radius.example.org"
            help="The server certificate's name must end with it."
          />
        </>
      )}
      <Check isSelected={draft.noCa} onChange={(noCa) => onChange({ noCa })}>
        Do not validate the server (no CA certificate)
      </Check>
      {draft.noCa && (
        <Alert tone="danger" title="Devices will not check who they sign in to">
          <p>
            Anyone who sets up an access point with this network name can collect the{' '}
            {draft.method === 'tls' ? 'devices’ sign-in' : 'password'}. Use this only where the site has no CA
            certificate to give; the job report records that the server was not validated.
          </p>
        </Alert>
      )}
    </fieldset>
  );
}

export function Ipv4Fields({
  draft,
  problem,
  onChange,
}: {
  draft: Ipv4Draft;
  problem: { field: 'address' | 'gateway' | 'dns'; message: string } | undefined;
  onChange: (patch: Partial<Ipv4Draft>) => void;
}) {
  const at = (f: 'address' | 'gateway' | 'dns') => (problem?.field === f ? problem.message : undefined);
  return (
    <fieldset className="fieldset">
      <legend className="section-heading">Addressing</legend>
      <Check isSelected={draft.on} onChange={(on) => onChange({ on })}>
        Static IPv4 instead of DHCP (for one device: each device needs its own address)
      </Check>
      {draft.on && (
        <div className="field-row">
          <Line
            label="Address / prefix"
            value={draft.address}
            onChange={(address) => onChange({ address })}
            problem={at('address')}
            placeholder="192.168.10.20/24"
          />
          <Line
            label="Gateway"
            value={draft.gateway}
            onChange={(gateway) => onChange({ gateway })}
            problem={at('gateway')}
            placeholder="192.168.10.1"
          />
          <Line
            label="DNS servers"
            value={draft.dns}
            onChange={(dns) => onChange({ dns })}
            problem={at('dns')}
            placeholder="192.168.10.1, 9.9.9.9"
          />
        </div>
      )}
    </fieldset>
  );
}
