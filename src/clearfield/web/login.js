// The sign-in page (a file of its own: the Content-Security-Policy allows no inline script).
import { signIn } from "/static/api.js";

const form = document.getElementById("login");
const error = document.getElementById("login-error");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const button = document.getElementById("sign-in");
  button.disabled = true;
  try {
    // The server answers with an HTTP-only session cookie and a CSRF cookie: the
    // page never holds the credential itself
    await signIn(form.username.value, form.password.value);
    location.replace("/");
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
    button.disabled = false;
  }
});
