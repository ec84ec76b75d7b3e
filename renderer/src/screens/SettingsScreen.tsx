/** Settings: the station's knobs, validated with the shared schema before they are saved. */
import { useEffect, useState } from 'react';
import { Button, FieldError, Group, Input, Label, NumberField, Text, TextField } from 'react-aria-components';
import {
  DEFAULT_STATION_SETTINGS,
  stationSettingsSchema,
  type StationSettings,
} from '../../../shared/station-api';
import { Icon } from '../components/Icon';
import { Alert } from '../components/States';
import { useCall, useStationState } from '../hooks';

type NumberKey = Exclude<keyof StationSettings, 'ssidPrefixes'>;

const NUMBER_FIELDS: { key: NumberKey; label: string; help: string; unit?: string }[] = [
  {
    key: 'joinTimeoutSeconds',
    label: 'Join timeout',
    help: 'How long to wait for a device’s setup AP to accept this computer.',
    unit: 's',
  },
  {
    key: 'verifyTimeoutSeconds',
    label: 'Verify timeout',
    help: 'How long a pushed device has to reappear on the target network.',
    unit: 's',
  },
  {
    key: 'failsafeSeconds',
    label: 'Fail-safe',
    help: 'How long a device keeps untested credentials before it reverts.',
    unit: 's',
  },
  { key: 'concurrency', label: 'LAN concurrency', help: 'Devices worked on at once over the network.' },
  {
    key: 'chunkSize',
    label: 'Chunk size',
    help: 'Setup-AP path: devices pushed per trip before returning to verify them.',
  },
  {
    key: 'minSignal',
    label: 'Minimum signal',
    help: 'A device must hear the target at least this strongly before credentials go out.',
    unit: 'dBm',
  },
  {
    key: 'surveyDevices',
    label: 'Survey devices',
    help: 'Pre-flight: how many setup-AP devices to visit to read what they hear.',
  },
];

const LIMITS: Record<NumberKey, { min: number; max: number }> = {
  joinTimeoutSeconds: { min: 5, max: 300 },
  verifyTimeoutSeconds: { min: 5, max: 3600 },
  failsafeSeconds: { min: 30, max: 3600 },
  concurrency: { min: 1, max: 256 },
  chunkSize: { min: 1, max: 500 },
  minSignal: { min: -100, max: -20 },
  surveyDevices: { min: 0, max: 20 },
};

function issuesByField(draft: unknown): Map<string, string> {
  const r = stationSettingsSchema.safeParse(draft);
  const out = new Map<string, string>();
  if (r.success) return out;
  for (const i of r.error.issues) {
    const k = String(i.path[0] ?? '');
    if (!out.has(k)) out.set(k, i.message);
  }
  return out;
}

export function SettingsScreen() {
  const { settings } = useStationState();
  const [draft, setDraft] = useState<StationSettings>(settings);
  const [prefixes, setPrefixes] = useState(settings.ssidPrefixes.join(', '));
  const [dirty, setDirty] = useState(false);
  const [saved, setSaved] = useState(false);
  const save = useCall('saveSettings');
  useEffect(() => {
    if (!dirty) {
      setDraft(settings);
      setPrefixes(settings.ssidPrefixes.join(', '));
    }
  }, [settings, dirty]);

  const parsedPrefixes = prefixes.split(/[,\s]+/).filter(Boolean);
  const candidate = { ...draft, ssidPrefixes: parsedPrefixes };
  const issues = issuesByField(candidate);
  const set = (patch: Partial<StationSettings>) => {
    setDraft((d) => ({ ...d, ...patch }));
    setDirty(true);
    setSaved(false);
  };

  return (
    <div className="screen">
      <div className="screen-head">
        <div>
          <h1 className="screen-title">Settings</h1>
          <p className="screen-sub">Apply to jobs started after saving.</p>
        </div>
      </div>
      <form
        className="card settings"
        aria-label="Station settings"
        onSubmit={(e) => {
          e.preventDefault();
          if (issues.size > 0) return;
          const parsed = stationSettingsSchema.parse(candidate);
          void save.run({ settings: parsed }).then((r) => {
            if (r) {
              setDirty(false);
              setSaved(true);
            }
          });
        }}
      >
        <TextField
          className="field"
          value={prefixes}
          onChange={(v) => {
            setPrefixes(v);
            setDirty(true);
            setSaved(false);
          }}
          isInvalid={issues.has('ssidPrefixes')}
        >
          <Label>Setup network prefixes</Label>
          <Input className="input input-mono" />
          <Text slot="description" className="field-help">
            A device’s setup AP is named prefix + device id (e.g. Airlift-K7Q2M6XA). Separate several with
            commas.
          </Text>
          <FieldError className="field-error">{issues.get('ssidPrefixes')}</FieldError>
        </TextField>
        <div className="settings-grid">
          {NUMBER_FIELDS.map((f) => (
            <NumberField
              key={f.key}
              className="field"
              value={draft[f.key]}
              minValue={LIMITS[f.key].min}
              maxValue={LIMITS[f.key].max}
              step={1}
              onChange={(v) => set({ [f.key]: Number.isNaN(v) ? draft[f.key] : v })}
              isInvalid={issues.has(f.key)}
              formatOptions={{ useGrouping: false, maximumFractionDigits: 0 }}
            >
              <Label>
                {f.label}
                {f.unit ? ` (${f.unit})` : ''}
              </Label>
              <Group className="number-group">
                <Input className="input" />
                <Button slot="decrement" className="btn-icon">
                  <Icon name="chevron-down" />
                </Button>
                <Button slot="increment" className="btn-icon">
                  <Icon name="chevron-up" />
                </Button>
              </Group>
              <Text slot="description" className="field-help">
                {f.help} ({LIMITS[f.key].min} to {LIMITS[f.key].max})
              </Text>
              <FieldError className="field-error">{issues.get(f.key)}</FieldError>
            </NumberField>
          ))}
        </div>
        {save.error && (
          <Alert tone="danger" title="Not saved" role="alert" onDismiss={save.clear}>
            <p>{save.error.message}</p>
          </Alert>
        )}
        <div className="editor-actions">
          <Button
            className="btn"
            onPress={() => {
              setDraft(DEFAULT_STATION_SETTINGS);
              setPrefixes(DEFAULT_STATION_SETTINGS.ssidPrefixes.join(', '));
              setDirty(true);
              setSaved(false);
            }}
          >
            Back to defaults
          </Button>
          <div className="toolbar-spacer" />
          <span role="status" className="muted small">
            {saved ? 'Saved.' : dirty ? 'Unsaved changes.' : ''}
          </span>
          <Button
            type="submit"
            className="btn btn-primary"
            isDisabled={!dirty || issues.size > 0}
            isPending={save.pending}
          >
            Save settings
          </Button>
        </div>
      </form>
    </div>
  );
}
