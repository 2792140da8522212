import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

// The machines are small and shared: wait up to 5 s for the UI to settle, not 1 s.
configure({ asyncUtilTimeout: 5000 });

// jsdom has no layout: the router's scroll restoration calls this.
window.scrollTo = () => {};

afterEach(() => {
  cleanup();
  sessionStorage.clear();
  localStorage.clear();
});
