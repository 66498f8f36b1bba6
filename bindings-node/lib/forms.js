'use strict';
// Form data as the JS layer hands it over: `data` decoded, the raw text kept.

/** Decodes a form-data entry's `data` string (a JSON object in a string) into `data`, keeping
 * the string byte for byte in `rawData`. Lenient, like the core: a `data` that is not a JSON
 * object never throws; it keeps its raw text, `data` is null and `dataError` says why. */
function decodeFormData(entry) {
  const raw = typeof entry.data === 'string' ? entry.data : '';
  const { dataError: _stale, ...rest } = entry;
  const trimmed = raw.trim();
  if (trimmed === '' || trimmed === 'null') return { ...rest, data: {}, rawData: raw };
  let parsed;
  try {
    parsed = JSON.parse(trimmed);
  } catch (err) {
    return { ...rest, data: null, rawData: raw, dataError: `form data \`data\` is not valid JSON: ${err?.message ?? err}` };
  }
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return { ...rest, data: parsed, rawData: raw };
  return { ...rest, data: null, rawData: raw, dataError: 'form data `data` is not a JSON object' };
}

function withForms(model) {
  if (model && Array.isArray(model.formData)) {
    return { ...model, formData: model.formData.map(decodeFormData) };
  }
  return model;
}

module.exports = { decodeFormData, withForms };
