export * as check from './check.js';
export type { Check, Issue, Output, ObjectCheck } from './check.js';
export {
  Problem,
  textField,
  textSetting,
  matchingField,
  BOOLEAN_EXPECTED,
  parseBoolean,
  booleanField,
  wholeNumberField,
  durationField,
  choiceField,
  requiredSetting,
  optionalSetting,
  defaultedSetting,
  type Setting,
  type SettingDoc,
} from './settings/fields.js';
export { withHint, splitHint, type HintedErrorOptions } from './hint.js';
export { parseDuration, formatDuration } from './settings/duration.js';
export { renderSettingsTable } from './settings/reference.js';
export { RUNNER_POD_LABEL, MANAGED_BY_LABEL, MANAGED_BY, LABEL_PREFIX, ROLE_LABEL, MANAGED_SELECTOR } from './objects/labels.js';
export { shortHash } from './objects/names.js';
export { podOwner, ownerReference, type Owner } from './objects/owner.js';
