// Progressive enhancement only: every page works without it.
document.querySelectorAll('form[data-confirm]').forEach(function (form) {
  form.addEventListener('submit', function (event) {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});
// In the conclusion form, the amount fields show only with the penalty kind they belong to.
document.querySelectorAll('form#form-conclude').forEach(function (form) {
  function sync() {
    form.querySelectorAll('input[data-with]').forEach(function (input) {
      var kind = form.querySelector('input[name=penalty_kinds][value=' + input.dataset.with + ']');
      var show = kind && kind.checked;
      input.hidden = !show && input.value === '';
      var label = form.querySelector('label[for=' + input.id + ']');
      if (label) label.hidden = input.hidden;
    });
  }
  form.addEventListener('change', sync);
  sync();
});
// A bureau's clue categories follow the department chosen.
document.querySelectorAll('form#new-referral select#department').forEach(function (select) {
  var categories = document.getElementById('clue_category');
  function sync() {
    categories.querySelectorAll('optgroup').forEach(function (group) {
      var mine = group.dataset.department === select.value;
      group.hidden = !mine; group.disabled = !mine;
    });
    var chosen = categories.selectedOptions[0];
    if (!chosen || chosen.parentElement.disabled) {
      var first = categories.querySelector('optgroup:not([disabled]) option');
      if (first) first.selected = true;
    }
  }
  select.addEventListener('change', sync);
  sync();
});
