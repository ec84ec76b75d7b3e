/**
 * Profiles: the sites' Wi-Fi networks. The network name is picked from what the selected devices
 * hear (how many hear it, how strongly, and how this computer hears it) or typed. A saved password
 * is never shown: the editor says it is held and where, and offers to replace it.
 */
import { useMemo, useState } from 'react';
import {
  Button,
  ComboBox,
  FieldError,
  GridList,
  GridListItem,
  Input,
  Label,
  ListBox,
  ListBoxItem,
  Meter,
  Popover,
  RadioGroup,
  Select,
  SelectValue,
  SwitchButton,
  SwitchField,
  Text,
  TextField,
  type Key,
} from 'react-aria-components';
import { isEnterprise, NETWORK_SECURITY, type NetworkSecurity } from '../../../shared/protocol/wifi';
import type { HeardNetwork, Profile } from '../../../shared/station-api';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Check, RadioOption } from '../components/Controls';
import { Icon } from '../components/Icon';
import { IconButton } from '../components/IconButton';
import { Alert, EmptyState } from '../components/States';
import { SignalBars, StatusText } from '../components/Status';
import { formatDateTime, plural } from '../format';
import { useCall, usePageState, useQuery, useStationState } from '../hooks';
import {
  eapDraftOf,
  eapProblems,
  heardMatch,
  ipv4DraftOf,
  ipv4Problem,
  passwordProblem,
  passwordView,
  saveParams,
  SECURITY_LABELS,
  securityOfHeard,
  type ProfileDraft,
} from '../profile-form';
import { EnterpriseFields, Ipv4Fields } from './ProfileSiteFields';

function draftOf(p: Profile | undefined): ProfileDraft {
  return p
    ? {
        id: p.id,
        name: p.name,
        ssid: p.ssid,
        ssidHex: p.ssidHex,
        security: p.security,
        hidden: p.hidden,
        password: '',
        storage: p.password.storage ?? 'session',
        eap: eapDraftOf(p.eap),
        ipv4: ipv4DraftOf(p),
      }
    : {
        name: '',
        ssid: '',
        security: 'wpa2-psk',
        hidden: false,
        password: '',
        storage: 'session',
        eap: eapDraftOf(undefined),
        ipv4: ipv4DraftOf(undefined),
      };
}

function passwordSummary(p: Profile): { tone: 'success' | 'warning' | 'neutral'; text: string } {
  if (p.security === 'open') return { tone: 'neutral', text: 'Open network' };
  if (p.eap?.serverValidation === 'none' && p.password.held)
    return { tone: 'warning', text: `${p.eap.method.toUpperCase()}, server not validated` };
  if (p.password.unreadable) return { tone: 'warning', text: 'Password unreadable: type it again' };
  if (!p.password.held) return { tone: 'warning', text: 'No password held' };
  return {
    tone: 'success',
    text: p.password.storage === 'keychain' ? 'Password in the keychain' : 'Password for this session',
  };
}

function NetworkOption({ n, selectedCount }: { n: HeardNetwork; selectedCount: number }) {
  return (
    <ListBoxItem id={n.ssidHex} textValue={n.ssid} className="option option-rich">
      <span className="option-main">
        <Icon name={securityOfHeard(n.security) === 'open' ? 'wifi' : 'lock'} />
        <strong>{n.ssid || <em>hidden</em>}</strong>
        <span className="muted small">{n.security}</span>
      </span>
      <span className="option-meta">
        {n.deviceSignal !== undefined ? (
          <span>
            <SignalBars dBm={n.deviceSignal} /> best device
          </span>
        ) : (
          <span className="muted">not heard by devices</span>
        )}
        <span>
          {selectedCount > 0
            ? `${n.devicesHearing} of ${selectedCount} surveyed devices hear it`
            : plural(n.devicesHearing, 'device hears it', 'devices hear it')}
        </span>
        <span>
          {n.stationSignal !== undefined ? (
            <>
              <SignalBars dBm={n.stationSignal} compact /> this computer {n.stationSignal} dBm
            </>
          ) : (
            <span className="muted">not heard here</span>
          )}
        </span>
      </span>
    </ListBoxItem>
  );
}

function ProfileEditor({
  profile,
  selection,
  onSaved,
  onDeleted,
}: {
  profile: Profile | undefined;
  selection: string[];
  onSaved: (p: Profile) => void;
  onDeleted: () => void;
}) {
  const { info, devices } = useStationState();
  /** Selected devices whose own scan the station has read (the rest are unknown, not deaf). */
  const surveyed = useMemo(
    () => selection.filter((id) => devices.get(id)?.hears !== undefined).length,
    [selection, devices],
  );
  const [draft, setDraft] = useState<ProfileDraft>(() => draftOf(profile));
  const [replacing, setReplacing] = useState(false);
  const [showPassword, setShowPassword] = useState(false);
  const [touched, setTouched] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const save = useCall('saveProfile');
  const del = useCall('deleteProfile');
  const heard = useQuery('listHeardNetworks', { deviceIds: selection }, selection.join(','));
  const networks = useMemo(() => heard.data?.networks ?? [], [heard.data]);
  const keychain = info?.keychain.available === true;

  const enterprise = isEnterprise(draft.security);
  const view = enterprise ? ({ kind: 'none' } as const) : passwordView(profile, draft.security, replacing);
  const asking = view.kind === 'ask' || view.kind === 'unreadable';
  const pwProblem = asking ? passwordProblem(draft.security, draft.password) : undefined;
  const nameProblem = draft.name.trim() === '' ? 'Give the profile a name' : undefined;
  const ssidProblem = draft.ssid === '' && !draft.ssidHex ? 'Pick or type the network name' : undefined;
  const heldEap = profile && isEnterprise(profile.security) ? profile.eap : undefined;
  const secretHeld = profile?.password.held === true && profile.password.unreadable !== true;
  const eapIssues = enterprise ? eapProblems(draft.eap, heldEap, secretHeld) : {};
  const ipIssue = ipv4Problem(draft.ipv4);
  const eapTyped =
    enterprise &&
    (draft.eap.password !== '' || draft.eap.clientKey !== '' || draft.eap.clientKeyPassphrase !== '');
  const invalid = Boolean(
    pwProblem ?? nameProblem ?? ssidProblem ?? Object.values(eapIssues)[0] ?? ipIssue?.message,
  );
  const set = (patch: Partial<ProfileDraft>) => setDraft((d) => ({ ...d, ...patch }));

  const onSave = async () => {
    setTouched(true);
    if (invalid) return;
    const saved = await save.run(saveParams(draft, asking));
    if (saved) {
      setDraft({ ...draftOf(saved) }); // the typed password is dropped here
      setReplacing(false);
      setShowPassword(false);
      setTouched(false);
      onSaved(saved);
    }
  };

  const pick = (k: Key) => {
    const n = networks.find((x) => x.ssidHex === k);
    if (n) set({ ssid: n.ssid, ssidHex: n.ssidHex, security: securityOfHeard(n.security) ?? draft.security });
  };
  const matched = draft.ssidHex
    ? networks.find((n) => n.ssidHex === draft.ssidHex)
    : heardMatch(networks, draft.ssid);

  return (
    <form
      className="editor"
      aria-label={profile ? `Edit profile ${profile.name}` : 'New profile'}
      onSubmit={(e) => {
        e.preventDefault();
        void onSave();
      }}
    >
      <div className="editor-head">
        <h2 className="section-heading">{profile ? profile.name : 'New profile'}</h2>
        {profile && <span className="muted small">Saved {formatDateTime(profile.updatedAt)}</span>}
      </div>

      <TextField
        className="field"
        value={draft.name}
        onChange={(name) => set({ name })}
        isRequired
        isInvalid={touched && !!nameProblem}
      >
        <Label>Profile name</Label>
        <Input className="input" placeholder="e.g. Plant 3, line 2" />
        <FieldError className="field-error">{nameProblem}</FieldError>
      </TextField>

      <div className="field-row">
        <ComboBox
          className="field field-grow"
          allowsCustomValue
          menuTrigger="focus"
          inputValue={draft.ssid}
          onInputChange={(ssid) => {
            const m = heardMatch(networks, ssid);
            set({ ssid, ssidHex: m?.ssidHex });
          }}
          value={draft.ssidHex ?? null}
          onChange={(k: Key | null) => {
            const n = networks.find((x) => x.ssidHex === k);
            if (n)
              set({
                ssid: n.ssid,
                ssidHex: n.ssidHex,
                security: securityOfHeard(n.security) ?? draft.security,
              });
          }}
          items={networks}
          isInvalid={touched && !!ssidProblem}
        >
          <Label>Network (SSID)</Label>
          <div className="combo">
            <Input
              className="input"
              placeholder={
                heard.loading
                  ? 'Asking what the devices hear…'
                  : 'Pick a network the devices hear, or type it'
              }
            />
            <Button className="btn-icon combo-button" aria-label="Show heard networks">
              <Icon name="chevron-down" />
            </Button>
          </div>
          <Text slot="description" className="field-help">
            {heard.error
              ? `Could not ask what the devices hear: ${heard.error.message}`
              : selection.length === 0
                ? 'Heard by this computer; select devices first to see what they hear.'
                : surveyed === 0
                  ? `What this computer hears: the ${plural(selection.length, 'selected device')} have not been surveyed yet (pre-flight reads what they hear).`
                  : `Heard by the ${plural(surveyed, 'surveyed device')} of the ${selection.length} selected, and this computer.`}
            {matched && matched.devicesHearing === 0 && surveyed > 0
              ? ' None of the surveyed devices hears this network.'
              : ''}
          </Text>
          <FieldError className="field-error">{ssidProblem}</FieldError>
          <Popover className="popover popover-wide">
            <ListBox
              className="listbox"
              renderEmptyState={() => <div className="listbox-empty">No network heard yet.</div>}
            >
              {(n: HeardNetwork) => <NetworkOption n={n} selectedCount={surveyed} />}
            </ListBox>
          </Popover>
        </ComboBox>
        <span className="btn-field">
          <IconButton
            className="btn"
            icon="refresh"
            label="Ask again what the devices hear"
            onPress={heard.reload}
            isDisabled={heard.loading}
          />
        </span>
      </div>
      {networks.length > 0 && (
        <div className="heard-networks">
          <div className="net-head" aria-hidden="true">
            <span>Network</span>
            <span>{surveyed > 0 ? 'Surveyed devices hearing it' : 'Devices hearing it'}</span>
            <span>Best device signal</span>
            <span>This computer</span>
          </div>
          <GridList
            aria-label="Networks heard: choose one"
            className="net-list"
            items={networks}
            onAction={pick}
          >
            {(n) => (
              <GridListItem
                id={n.ssidHex}
                textValue={n.ssid}
                className={`net-row${n.ssidHex === draft.ssidHex ? ' net-row-on' : ''}`}
              >
                <span className="net-name">
                  <Icon name={securityOfHeard(n.security) === 'open' ? 'wifi' : 'lock'} />
                  <strong>{n.ssid}</strong>
                  <span className="muted small">{n.security}</span>
                </span>
                <span className="net-count">
                  {surveyed > 0 ? (
                    <Meter
                      className="meter"
                      value={n.devicesHearing}
                      maxValue={surveyed}
                      aria-label={`${n.devicesHearing} of ${surveyed} surveyed devices hear ${n.ssid}`}
                    >
                      {({ percentage }) => (
                        <>
                          <span className="meter-track">
                            <span
                              className="meter-fill"
                              style={{ width: `${percentage}%`, display: 'block' }}
                            />
                          </span>
                          <span className="small">
                            {n.devicesHearing} of {surveyed}
                          </span>
                        </>
                      )}
                    </Meter>
                  ) : selection.length > 0 ? (
                    <span className="muted small">not surveyed yet</span>
                  ) : (
                    <span className="small">{plural(n.devicesHearing, 'device')}</span>
                  )}
                </span>
                <span>
                  {n.deviceSignal !== undefined ? (
                    <SignalBars dBm={n.deviceSignal} />
                  ) : (
                    <span className="muted small">not heard</span>
                  )}
                </span>
                <span>
                  {n.stationSignal !== undefined ? (
                    <SignalBars dBm={n.stationSignal} />
                  ) : (
                    <span className="muted small">not heard</span>
                  )}
                </span>
              </GridListItem>
            )}
          </GridList>
        </div>
      )}

      <div className="field-row">
        <Select
          className="field field-grow"
          value={draft.security}
          onChange={(k) => {
            const s = NETWORK_SECURITY.find((x) => x === k);
            if (s) set({ security: s });
          }}
        >
          <Label>Security</Label>
          <Button className="input select-button">
            <SelectValue />
            <Icon name="chevron-down" />
          </Button>
          <Popover className="popover">
            <ListBox className="listbox">
              {NETWORK_SECURITY.map((s: NetworkSecurity) => (
                <ListBoxItem key={s} id={s} className="option">
                  {SECURITY_LABELS[s]}
                </ListBoxItem>
              ))}
            </ListBox>
          </Popover>
        </Select>
        <Check isSelected={draft.hidden} onChange={(hidden) => set({ hidden })}>
          Hidden network (does not broadcast its name)
        </Check>
      </div>

      {view.kind === 'held' && (
        <div className="password-held">
          <StatusText tone="success" icon="key">
            A password is held ({view.storage === 'keychain' ? 'in the keychain' : 'this session only'}).
          </StatusText>
          <Button className="btn btn-s" onPress={() => setReplacing(true)}>
            Replace password
          </Button>
        </div>
      )}
      {view.kind === 'unreadable' && (
        <Alert tone="warning" title="The saved password cannot be opened now">
          <p>
            The keychain copy exists but cannot be read (a locked keyring, or another user). Type the password
            again.
          </p>
        </Alert>
      )}
      {asking && (
        <div className="field-row">
          <TextField
            className="field field-grow"
            type={showPassword ? 'text' : 'password'}
            value={draft.password}
            onChange={(password) => set({ password })}
            autoComplete="new-password"
            isInvalid={touched && !!pwProblem}
          >
            <Label>{replacing ? 'New password' : 'Password'}</Label>
            <Input className="input" spellCheck="false" />
            <Text slot="description" className="field-help">
              Sent to the station once and never shown again.
            </Text>
            <FieldError className="field-error">{pwProblem}</FieldError>
          </TextField>
          <SwitchField className="switch-field" isSelected={showPassword} onChange={setShowPassword}>
            <SwitchButton className="switch">
              <span className="switch-track">
                <span className="switch-thumb" />
              </span>
              Show what I type
            </SwitchButton>
          </SwitchField>
          {replacing && (
            <Button
              className="btn btn-field"
              onPress={() => {
                setReplacing(false);
                set({ password: '' });
              }}
            >
              Keep the held one
            </Button>
          )}
        </div>
      )}

      {enterprise && (
        <EnterpriseFields
          draft={draft.eap}
          held={heldEap}
          passwordHeld={secretHeld}
          problems={touched ? eapIssues : {}}
          onChange={(patch) => setDraft((d) => ({ ...d, eap: { ...d.eap, ...patch } }))}
        />
      )}

      <Ipv4Fields
        draft={draft.ipv4}
        problem={touched ? ipIssue : undefined}
        onChange={(patch) => setDraft((d) => ({ ...d, ipv4: { ...d.ipv4, ...patch } }))}
      />

      {draft.security !== 'open' && (asking || eapTyped || (enterprise && !secretHeld)) && (
        <RadioGroup
          className="radio-group"
          value={draft.storage}
          onChange={(v) => set({ storage: v === 'keychain' ? 'keychain' : 'session' })}
        >
          <Label>Keep the password</Label>
          <RadioOption value="session">For this session only (gone when the station stops)</RadioOption>
          {keychain && <RadioOption value="keychain">In the system keychain</RadioOption>}
          {!keychain && (
            <Text slot="description" className="field-help">
              The system keychain is not available here
              {info?.keychain.why ? `: ${info.keychain.why.replace(/\.$/, '')}` : ''}.
            </Text>
          )}
        </RadioGroup>
      )}

      {save.error && (
        <Alert tone="danger" title="Not saved" role="alert" onDismiss={save.clear}>
          <p>{save.error.message}</p>
        </Alert>
      )}
      <div className="editor-actions">
        {profile && (
          <Button className="btn btn-danger-quiet" onPress={() => setConfirmDelete(true)}>
            <Icon name="trash" /> Delete…
          </Button>
        )}
        <div className="toolbar-spacer" />
        <Button type="submit" className="btn btn-primary" isPending={save.pending}>
          {profile ? 'Save changes' : 'Save profile'}
        </Button>
      </div>
      <ConfirmDialog
        isOpen={confirmDelete}
        onOpenChange={setConfirmDelete}
        title={`Delete the profile ${profile?.name ?? ''}?`}
        confirmLabel="Delete profile"
        cancelLabel="Keep it"
        danger
        pending={del.pending}
        onConfirm={() =>
          profile &&
          void del.run({ id: profile.id }).then((r) => {
            if (r) {
              setConfirmDelete(false);
              onDeleted();
            }
          })
        }
      >
        <p>Its password is dropped as well. Jobs already run keep their reports.</p>
        {del.error && <p className="inline-error">{del.error.message}</p>}
      </ConfirmDialog>
    </form>
  );
}

export function ProfilesScreen({ selection }: { selection: ReadonlySet<string> }) {
  const { profiles, devices } = useStationState();
  const [selectedId, setSelectedId] = usePageState<string>('profiles.selected', profiles[0]?.id ?? 'new');
  const [lastSaved, setLastSaved] = useState<Profile | undefined>(undefined);
  const current =
    profiles.find((p) => p.id === selectedId) ?? (lastSaved?.id === selectedId ? lastSaved : undefined);
  const editing = current ?? (selectedId === 'new' || profiles.length === 0 ? undefined : profiles[0]);
  const selected = useMemo(() => [...selection].filter((id) => devices.has(id)), [selection, devices]);
  const editorKey = editing?.id ?? 'new';

  return (
    <div className="screen">
      <div className="screen-head">
        <div>
          <h1 className="screen-title">Profiles</h1>
          <p className="screen-sub">The networks devices are put on. {plural(profiles.length, 'profile')}.</p>
        </div>
        <div className="screen-actions">
          <Button className="btn" onPress={() => setSelectedId('new')}>
            <Icon name="plus" /> New profile
          </Button>
        </div>
      </div>
      <div className="split">
        <div className="split-list">
          {profiles.length === 0 ? (
            <EmptyState icon="profiles" title="No profiles yet">
              <p>Create one for the site’s network: its name, security and password.</p>
            </EmptyState>
          ) : (
            <ListBox
              aria-label="Profiles"
              className="listbox profile-list"
              selectionMode="single"
              disallowEmptySelection
              selectedKeys={editing ? [editing.id] : []}
              onSelectionChange={(keys) => {
                const k = keys === 'all' ? undefined : [...keys][0];
                if (typeof k === 'string') setSelectedId(k);
              }}
              items={profiles}
            >
              {(p) => {
                const pw = passwordSummary(p);
                return (
                  <ListBoxItem id={p.id} textValue={p.name} className="option profile-item">
                    <strong>{p.name}</strong>
                    <span className="muted small">
                      {p.ssid || p.ssidHex} · {SECURITY_LABELS[p.security].split(' (')[0]}
                      {p.hidden ? ' · hidden' : ''}
                    </span>
                    <StatusText tone={pw.tone} icon={pw.tone === 'success' ? 'key' : undefined}>
                      {pw.text}
                    </StatusText>
                  </ListBoxItem>
                );
              }}
            </ListBox>
          )}
        </div>
        <div className="split-main card">
          <ProfileEditor
            key={editorKey}
            profile={editing}
            selection={selected}
            onSaved={(p) => {
              setLastSaved(p);
              setSelectedId(p.id);
            }}
            onDeleted={() => setSelectedId('new')}
          />
        </div>
      </div>
    </div>
  );
}
