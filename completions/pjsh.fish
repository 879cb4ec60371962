# fish completion for the pjsh command's own options.
# Install: copy to ~/.config/fish/completions/pjsh.fish

# Where the command line is: "options" (pjsh's own), "command" (the text after -c),
# "file" (the script after -File) or "args" (arguments of the script, not pjsh's).
function __fish_pjsh_state
    set -l words (commandline -opc)
    set -e words[1]
    set -l state options
    for word in $words
        switch $state
            case command
                # pjsh takes the rest of the line as the command text.
                break
            case args
                break
            case file
                set state args
                continue
        end
        switch (string lower -- $word)
            case -c -command
                set state command
            case -h --help --version
                set state args
            case -file
                set state file
            case '-*'
            case '*'
                set state args
        end
    end
    echo $state
end

# Script files (*.ps1) and directories to walk into.
function __fish_pjsh_scripts
    __fish_complete_path (commandline -ct) | string match -r -- '^[^\t]*(?:/|\.ps1)(?:\t.*)?$'
end

complete -c pjsh -f
complete -c pjsh -n 'test (__fish_pjsh_state) = options' -o c -x \
    -d 'Run the given commands, then exit'
complete -c pjsh -n 'test (__fish_pjsh_state) = options' -o Command -x \
    -d 'Run the given commands, then exit'
complete -c pjsh -n 'test (__fish_pjsh_state) = options' -o File -x -d 'Run a script file' \
    -a '(__fish_pjsh_scripts)'
complete -c pjsh -n 'test (__fish_pjsh_state) = options' -o NoProfile \
    -d 'Do not run the profile script'
complete -c pjsh -n 'test (__fish_pjsh_state) = options' -o NonInteractive \
    -d 'Never prompt for input'
complete -c pjsh -n 'test (__fish_pjsh_state) = options' -l version -d 'Show the version and exit'
complete -c pjsh -n 'test (__fish_pjsh_state) = options' -s h -l help -d 'Show usage and exit'
complete -c pjsh -n 'test (__fish_pjsh_state) = options' -a '(__fish_pjsh_scripts)'
complete -c pjsh -n 'test (__fish_pjsh_state) = file' -a '(__fish_pjsh_scripts)'
complete -c pjsh -n 'test (__fish_pjsh_state) = args' -F
