# frozen_string_literal: true

module AgentSDKSpec
  # Process checks the specs and benches share.
  module Processes
    module_function

    # Exists and is not a zombie (an exited child stays one until it is reaped; a daemon until init reaps it, if ever).
    def alive?(pid)
      Process.kill(0, pid)
      File.read("/proc/#{pid}/stat")[/\) (\S)/, 1] != "Z"
    rescue Errno::ESRCH, Errno::ENOENT
      false
    end
  end
end
